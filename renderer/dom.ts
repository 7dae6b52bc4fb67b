/** Small DOM and formatting helpers shared by the pages (no framework). */
import type { Health } from '../main/core/keeper-state.js';
import type { BrokerApi } from '../main/shell/ipc-channels.js';

declare global {
  interface Window {
    /** Set by the preload (renderer/preload.cts). */
    readonly broker?: Partial<BrokerApi>;
  }
}

/** The preload's API; every page checks for it once. */
export function brokerApi(): BrokerApi {
  const api = window.broker;
  if (!api) throw new Error('window.broker is missing: this page must be opened by the app');
  return api as BrokerApi;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing`);
  return found as T;
}

type Child = Node | string | null | undefined | false;

/** `el('p', {class: 'x'}, 'text', child)`: creates an element; text is always text, never HTML. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Readonly<Record<string, string | boolean | undefined>> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children)
    if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

export function show(node: HTMLElement, visible: boolean): void {
  node.hidden = !visible;
}

export const HEALTH_LABELS: Readonly<Record<Health, string>> = {
  ok: 'Healthy',
  warn: 'Attention',
  error: 'Sign-in needed',
  idle: 'Idle',
  busy: 'Working',
};

/** A health badge: colour and shape (for people who cannot tell the colours apart) and words. */
export function healthBadge(health: Health, label = HEALTH_LABELS[health]): HTMLElement {
  return el(
    'span',
    { class: `badge health-${health}` },
    el('span', { class: 'glyph', 'aria-hidden': 'true' }),
    label,
  );
}

export function duration(ms: number): string {
  if (ms <= 0) return '0s';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m ${s % 60}s`;
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

export function dateTime(ms: number): string {
  return new Date(ms).toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });
}

/** "in 1h 59m (19:27)" or "3m ago". */
export function relative(at: number, now: number): string {
  return at >= now ? `in ${duration(at - now)} (${clock(at)})` : `${duration(now - at)} ago`;
}
