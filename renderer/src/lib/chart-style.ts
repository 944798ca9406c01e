// What the app's ECharts charts (training counts and curves, benchmark results) share: the dark theme's colours,
// set here because ECharts draws on a canvas that theme.css's variables do not reach, and the 95% CI error bar their
// custom series draw over a point or a bar.

export const CHART_TEXT_COLOR = '#bbb';
/** The legend above the plot, in the theme's lighter text. */
export const chartLegend = { top: 0, textStyle: { color: '#ccc' } };
/** A value axis's labels, name and grid lines in the theme's colours. */
export const valueAxisStyle = { axisLabel: { color: CHART_TEXT_COLOR }, nameTextStyle: { color: CHART_TEXT_COLOR }, splitLine: { lineStyle: { color: '#333' } } };

/** A vertical error bar at x from yLow to yHigh (pixels) with caps reaching `cap` either side, as one graphic group. */
export function errorBar(x: number, yLow: number, yHigh: number, cap: number, stroke: string) {
  const style = { stroke, lineWidth: 1.2 };
  return {
    type: 'group' as const,
    children: [
      { type: 'line' as const, shape: { x1: x, y1: yLow, x2: x, y2: yHigh }, style },
      { type: 'line' as const, shape: { x1: x - cap, y1: yLow, x2: x + cap, y2: yLow }, style },
      { type: 'line' as const, shape: { x1: x - cap, y1: yHigh, x2: x + cap, y2: yHigh }, style },
    ],
  };
}
