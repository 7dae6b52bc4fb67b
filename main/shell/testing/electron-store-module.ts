/**
 * What `import Store from 'electron-store'` gives main/app.ts in tests: electron-store's own base
 * class (conf), which needs no Electron; the app version stands in for electron-store's.
 */
import Conf from 'conf';
import type { AppStoreOptions } from '../app-settings.js';

export default class ElectronStore extends Conf<Record<string, unknown>> {
  constructor(options: AppStoreOptions) {
    super({ ...options, configName: options.name, projectVersion: '0.1.0' } as never);
  }
}
