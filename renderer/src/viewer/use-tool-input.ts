// Pointer input of the viewport -> tools: a press is resolved through the mouse-binding table (keymap store)
// to a tool, which then gets the moves until the release (pointer captured). The wheel and double-click are
// resolved the same way. The cursor position is reported on every move for the pixel readout.

import { computed, shallowRef, type Ref } from 'vue';
import { modifiersFromEvent, mouseButtonFromEvent, type Modifier, type MouseButton, type MouseGesture, type ToolId } from '../lib/keymap';
import { createTools, type Tool, type ToolContext, type ToolPoint } from './tools';

export interface ToolInputOptions {
  canvas: Ref<HTMLCanvasElement | null>;
  /** false while there is nothing to act on (no image): presses and the wheel are left alone */
  enabled: () => boolean;
  toolFor: (button: MouseButton, gesture: MouseGesture, modifiers: readonly Modifier[]) => ToolId | null;
  context: ToolContext;
  /** the pointer moved to `p`, or left the viewport (null) */
  onHover?: (p: ToolPoint | null) => void;
  tools?: Record<ToolId, Tool>;
}

export function useToolInput(o: ToolInputOptions) {
  const tools = o.tools ?? createTools();
  const active = shallowRef<{ tool: Tool; pointerId: number } | null>(null);
  /** the dragging tool's cursor, null for the default */
  const cursor = computed(() => active.value?.tool.cursor ?? null);

  function point(e: MouseEvent): ToolPoint {
    const rect = o.canvas.value!.getBoundingClientRect();
    return { x: e.clientX - rect.left, y: e.clientY - rect.top };
  }

  function toolFor(button: MouseButton | null, gesture: MouseGesture, e: MouseEvent): Tool | null {
    const id = button && o.toolFor(button, gesture, modifiersFromEvent(e));
    return id ? tools[id] : null;
  }

  function onPointerDown(e: PointerEvent): void {
    if (!o.enabled()) return;
    o.canvas.value?.focus({ preventScroll: true });
    const tool = toolFor(mouseButtonFromEvent(e.button), 'drag', e);
    if (!tool?.onPointerDown) return;
    tool.onPointerDown(o.context, point(e));
    active.value = { tool, pointerId: e.pointerId };
    o.canvas.value?.setPointerCapture(e.pointerId);
    e.preventDefault();
  }

  function onPointerMove(e: PointerEvent): void {
    const p = point(e);
    const a = active.value;
    if (a && a.pointerId === e.pointerId) a.tool.onPointerMove?.(o.context, p);
    o.onHover?.(p);
  }

  function onPointerUp(e: PointerEvent): void {
    const a = active.value;
    if (!a || a.pointerId !== e.pointerId) return;
    active.value = null;
    a.tool.onPointerUp?.(o.context, point(e));
    if (o.canvas.value?.hasPointerCapture(e.pointerId)) o.canvas.value.releasePointerCapture(e.pointerId);
  }

  function onWheel(e: WheelEvent): void {
    if (!o.enabled()) return;
    // a dragging tool that takes the wheel (the magnifier's power) has it while it drags
    const dragging = active.value?.tool.onWheel ? active.value.tool : null;
    const tool = dragging ?? toolFor('wheel', 'drag', e);
    if (!tool?.onWheel) return;
    e.preventDefault();
    const p = point(e);
    tool.onWheel(o.context, { ...p, deltaY: e.deltaY, deltaMode: e.deltaMode });
    o.onHover?.(p);
  }

  function onDoubleClick(e: MouseEvent): void {
    if (!o.enabled()) return;
    toolFor(mouseButtonFromEvent(e.button), 'doubleClick', e)?.onDoubleClick?.(o.context, point(e));
  }

  function onPointerLeave(): void {
    o.onHover?.(null);
  }

  return { cursor, active, onPointerDown, onPointerMove, onPointerUp, onWheel, onDoubleClick, onPointerLeave };
}
