declare const __DENSESSM_VERSION__: string | undefined;

/** The CLI's version: injected by tsup at build time from package.json (see tsup.config.ts). */
export const CLI_VERSION: string =
  typeof __DENSESSM_VERSION__ === 'string' ? __DENSESSM_VERSION__ : '0.0.0-dev';
