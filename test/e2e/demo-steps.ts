// Steps several browser specs share: importing the bundled demo from the empty state through the import dialog.
import type { Page } from '@playwright/test';
import { expect } from './serve-fixture';

/** Empty state -> Import… -> "Import the demo" -> the summary (checked by `checkSummary` when given) -> Done: 18 studies. */
export async function importDemo(page: Page, checkSummary?: (page: Page) => Promise<void>): Promise<void> {
  await expect(page.getByTestId('empty-state')).toBeVisible();
  await page.getByTestId('import-button').click();
  await page.getByTestId('import-demo').click();
  await expect(page.getByTestId('import-summary')).toBeVisible({ timeout: 60_000 });
  await checkSummary?.(page);
  await page.getByTestId('import-done').click();
  await expect(page.getByTestId('study-count')).toHaveText('18');
}
