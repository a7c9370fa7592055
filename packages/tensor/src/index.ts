export type { Backend, RunOptions, Session, SessionOptions } from './backend.js';
export type { BackendErrorCode } from './backend-kit.js';
export { BackendError } from './backend-kit.js';
export {
  bfloat16ToFloat32Array,
  float16BitsToFloat32,
  float16ToFloat32Array,
  float32ToBfloat16Array,
  float32ToBfloat16Bits,
  float32ToFloat16Array,
  float32ToFloat16Bits,
} from './float16.js';
export type { AttributeValue, Dim, NodeInfo, Value } from './onnx/graph-builder.js';
export { DEFAULT_OPSET, floatAttr, floatsAttr, GraphBuilder } from './onnx/graph-builder.js';
export {
  assertPortable,
  NonPortableGraphError,
  nonPortableNodes,
  nonPortableOps,
  PORTABLE_OPS,
  WEBGPU_LOWERINGS,
} from './onnx/portable.js';
export type {
  LoadWeightsOptions,
  OpenSafetensorsFile,
  ParseSafetensorsOptions,
  ReadFolderFile,
  SafetensorsDType,
  SafetensorsEntry,
  SafetensorsErrorCode,
  SafetensorsFile,
  SafetensorsIndex,
  SafetensorsInput,
  SafetensorsSlot,
  ToTensorOptions,
} from './safetensors.js';
export {
  decodeSafetensors,
  decodeSafetensorsHeaderJson,
  encodeSafetensors,
  loadSafetensorsWeights,
  parseSafetensors,
  parseSafetensorsHeader,
  parseSafetensorsIndex,
  planSafetensors,
  SAFETENSORS_INDEX_FILE,
  SAFETENSORS_SINGLE_FILE,
  SafetensorsError,
  safetensorsEntryToTensor,
  safetensorsHeaderLength,
  safetensorsSlotData,
  tensorToFloat32,
} from './safetensors.js';
export type { DType, Tensor, TensorData } from './tensor.js';
export { elementCount, float32, int32, int64, tensorOf } from './tensor.js';
