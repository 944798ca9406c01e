import { defineStore } from 'pinia';
import { ref } from 'vue';
import { errorMessage } from '../lib/format';

export interface Toast {
  id: number;
  kind: 'error' | 'info';
  message: string;
  code?: string;
}

/** Dismissible notifications; errors stay until dismissed, info toasts fade after a few seconds. */
export const useToastStore = defineStore('toasts', () => {
  const toasts = ref<Toast[]>([]);
  let next = 1;

  function push(kind: Toast['kind'], message: string, code?: string): number {
    const id = next++;
    // The same error repeated (e.g. while scrolling) is shown once.
    const existing = toasts.value.find((t) => t.kind === kind && t.message === message);
    if (existing) return existing.id;
    toasts.value.push({ id, kind, message, code });
    if (toasts.value.length > 5) toasts.value.splice(0, toasts.value.length - 5);
    if (kind === 'info') setTimeout(() => dismiss(id), 5000);
    return id;
  }

  function error(e: unknown, context?: string): number {
    const code = e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string' ? (e as { code: string }).code : undefined;
    const message = errorMessage(e);
    return push('error', context ? `${context}: ${message}` : message, code);
  }

  function info(message: string): number {
    return push('info', message);
  }

  function dismiss(id: number): void {
    toasts.value = toasts.value.filter((t) => t.id !== id);
  }

  return { toasts, push, error, info, dismiss };
});
