// Window math for a fixed-row-height virtual scroller: which rows to render and which pages to fetch.

export interface VirtualWindowInput {
  scrollTop: number;
  viewportHeight: number;
  rowHeight: number;
  total: number;
  /** extra rows rendered above and below the visible ones */
  overscan: number;
}

export interface VirtualWindow {
  /** first rendered row (inclusive) */
  start: number;
  /** last rendered row (exclusive) */
  end: number;
  /** pixel offset of row `start` from the top of the scroll content */
  offsetTop: number;
  /** full scroll content height */
  totalHeight: number;
  /** first and last (exclusive) rows actually visible, without overscan */
  visibleStart: number;
  visibleEnd: number;
}

export function computeVirtualWindow(input: VirtualWindowInput): VirtualWindow {
  const rowHeight = Math.max(1, input.rowHeight);
  const total = Math.max(0, Math.floor(input.total));
  const totalHeight = total * rowHeight;
  if (total === 0) return { start: 0, end: 0, offsetTop: 0, totalHeight: 0, visibleStart: 0, visibleEnd: 0 };
  const maxScroll = Math.max(0, totalHeight - input.viewportHeight);
  const scrollTop = Math.min(Math.max(0, input.scrollTop), maxScroll);
  const visibleStart = Math.min(total - 1, Math.floor(scrollTop / rowHeight));
  const visibleEnd = Math.min(total, Math.ceil((scrollTop + Math.max(0, input.viewportHeight)) / rowHeight));
  const overscan = Math.max(0, Math.floor(input.overscan));
  const start = Math.max(0, visibleStart - overscan);
  const end = Math.min(total, Math.max(visibleEnd, visibleStart + 1) + overscan);
  return { start, end, offsetTop: start * rowHeight, totalHeight, visibleStart, visibleEnd: Math.max(visibleEnd, visibleStart + 1) };
}

/** Page numbers (page = floor(index / pageSize)) covering rows [start, end). */
export function pagesForRange(start: number, end: number, pageSize: number): number[] {
  if (end <= start || pageSize <= 0) return [];
  const first = Math.floor(Math.max(0, start) / pageSize);
  const last = Math.floor((end - 1) / pageSize);
  const pages: number[] = [];
  for (let p = first; p <= last; p++) pages.push(p);
  return pages;
}

/** The scrollTop that brings row `index` fully into view, changing the current one as little as possible. */
export function scrollTopToReveal(index: number, scrollTop: number, viewportHeight: number, rowHeight: number): number {
  const top = index * rowHeight;
  const bottom = top + rowHeight;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + viewportHeight) return Math.max(0, bottom - viewportHeight);
  return scrollTop;
}

/** Pages to drop from a cache holding more than `maxPages`: those farthest from the page in use. */
export function pagesToEvict(cached: number[], currentPage: number, maxPages: number): number[] {
  if (cached.length <= maxPages) return [];
  const sorted = [...cached].sort((a, b) => Math.abs(b - currentPage) - Math.abs(a - currentPage) || b - a);
  return sorted.slice(0, cached.length - maxPages);
}
