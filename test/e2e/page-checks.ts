// What several browser specs check on the page: the errors its console logged (collected from the call on; the spec
// decides which ones it tolerates), and how many pixels an ECharts canvas painted (a chart that drew nothing is 0).
import type { Locator, Page } from '@playwright/test';

/** The console's errors from now on; the array fills while the test runs. */
export function collectConsoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return errors;
}

/** The canvas's pixels with any opacity. */
export async function painted(canvas: Locator): Promise<number> {
  return canvas.evaluate((c: HTMLCanvasElement) => {
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
    return n;
  });
}
