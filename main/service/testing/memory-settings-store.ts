/** A SettingsStore in memory, for service tests (copies on save and load, like a file would). */
import type { BrokerSettings, SettingsStore } from '../../core/ports.js';

export class MemorySettingsStore implements SettingsStore {
  readonly path = '(memory)';
  saves = 0;
  #settings: BrokerSettings = { version: 1, accounts: [] };

  async load(): Promise<BrokerSettings> {
    return structuredClone(this.#settings);
  }

  async save(settings: BrokerSettings): Promise<void> {
    this.saves += 1;
    this.#settings = structuredClone(settings);
  }
}
