export type { DType, Tensor, TensorData } from './tensor.js';
export { elementCount, float32, int32, int64, tensorOf } from './tensor.js';
export type { Backend, Session, SessionOptions } from './backend.js';
export type { AttributeValue, Dim, Value } from './onnx/graph-builder.js';
export { DEFAULT_OPSET, GraphBuilder, floatAttr, floatsAttr } from './onnx/graph-builder.js';
