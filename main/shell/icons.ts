/**
 * Tray icons as data: (platform, panel theme, health) → a file under build/tray/, all rendered
 * from build/icon.svg by scripts/make-icons.ts. The health is shown by shape (check, triangle,
 * octagon, ring, dots), so the monochrome macOS template images carry it too.
 *
 * - macOS: `<health>Template.png` (16 px) next to `<health>Template@2x.png` (32 px); Electron picks
 *   the @2x file by itself and the `Template` suffix makes macOS tint it for the menu bar.
 * - Windows: `<health>-<theme>.ico`, one file holding 16…64 px so every display scale gets a
 *   sharp image.
 * - Linux: `<health>-<theme>@2x.png` (32 px), the highest scale: status-notifier hosts scale
 *   down themselves and have no @2x lookup.
 * `theme` is the panel's: `dark` panels get the variant with a light outline.
 */
import { join } from 'node:path';
import type { Health } from '../core/keeper-state.js';

export type PanelTheme = 'light' | 'dark';

export const HEALTHS: readonly Health[] = ['ok', 'warn', 'error', 'idle', 'busy'];
export const PANEL_THEMES: readonly PanelTheme[] = ['light', 'dark'];

/** Where the tray icons live, relative to the build folder. */
export const TRAY_DIR = 'tray';

export interface IconQuery {
  readonly platform: NodeJS.Platform;
  readonly theme: PanelTheme;
  readonly health: Health;
}

/** The icon's file name inside build/tray/. */
export function trayIconFile({ platform, theme, health }: IconQuery): string {
  switch (platform) {
    case 'darwin':
      return `${health}Template.png`;
    case 'win32':
      return `${health}-${theme}.ico`;
    default:
      return `${health}-${theme}@2x.png`;
  }
}

export function trayIconPath(buildDir: string, query: IconQuery): string {
  return join(buildDir, TRAY_DIR, trayIconFile(query));
}

/** macOS menu-bar icons are template images (black + alpha, tinted by the system). */
export function usesTemplateImages(platform: NodeJS.Platform): boolean {
  return platform === 'darwin';
}

/** Every file scripts/make-icons.ts writes into build/tray/ (tests check they all exist). */
export function allTrayIconFiles(): string[] {
  const files: string[] = [];
  for (const health of HEALTHS) {
    files.push(`${health}Template.png`, `${health}Template@2x.png`);
    for (const theme of PANEL_THEMES)
      files.push(`${health}-${theme}.png`, `${health}-${theme}@2x.png`, `${health}-${theme}.ico`);
  }
  return files;
}
