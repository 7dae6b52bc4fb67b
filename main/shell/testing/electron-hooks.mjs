/* global URL */
// Module hooks for tests that load main/app.ts under plain Node: `electron` and
// `electron-store` resolve to fakes (the real packages need the Electron binary).
// Registered with module.register() by main/shell/app.test.ts.
const FAKES = {
  electron: new URL('./electron-module.ts', import.meta.url).href,
  'electron-store': new URL('./electron-store-module.ts', import.meta.url).href,
};

export async function resolve(specifier, context, nextResolve) {
  // Resolved by the next hook (tsx), so that it loads the TypeScript file as it loads any other.
  return nextResolve(FAKES[specifier] ?? specifier, context);
}
