import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './finance-chart.css';
import { formatMoney } from '../format.ts';

export interface ChartSeries {
  label: string;
  /** Amounts in minor units of `currency`, one per day (null: no figure that day). */
  values: (number | null)[];
  color: string;
  dash?: number[];
  /** Line width in CSS pixels (a wider line shows under a dashed one with the same values). */
  width?: number;
}

/**
 * A line chart of figures per business day in one currency (never two: a series is summed in
 * one currency only). The y axis is in minor units and labelled with formatMoney, so a JPY axis
 * has no decimals and a KWD axis three. The canvas is an image with a text description; the
 * table next to it is the accessible form of the same figures.
 */
export function FinanceChart(props: { days: string[]; currency: string; series: ChartSeries[]; description: string }) {
  const { days, currency, series, description } = props;
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    // Business days as UTC midnights, shown in UTC: the calendar day itself, never shifted.
    const xs = days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
    const dayLabel = (secs: number) => new Date(secs * 1000).toISOString().slice(0, 10);
    const money = (v: number) => formatMoney(Math.round(v), currency);
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: 300,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      // Half a day either side: the first and last days' points and labels stay inside the canvas.
      scales: { x: { time: true, range: (_u, min, max) => [min - 43_200, max + 43_200] }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
      axes: [
        // Ticks on whole days only (a day, a week, four weeks…), never on hours of a business day.
        { stroke: '#1c2430', grid: { stroke: '#e3e7ec' }, incrs: [1, 2, 7, 14, 28, 91, 182].map((n) => n * 86_400), values: (_u, splits) => splits.map((s) => dayLabel(s)), space: 90 },
        { stroke: '#1c2430', grid: { stroke: '#e3e7ec' }, values: (_u, splits) => splits.map(money), size: 100 },
      ],
      series: [
        { label: 'Business day', value: (_u, v) => (v == null ? '' : dayLabel(v)) },
        ...series.map((s) => ({ label: s.label, stroke: s.color, width: s.width ?? 2, dash: s.dash, points: { show: true, size: 6 }, value: (_u: uPlot, v: number | null) => (v == null ? '' : money(v)) })),
      ],
    };
    const data: uPlot.AlignedData = [xs, ...series.map((s) => s.values)];
    const plot = new uPlot(opts, data, el);
    const canvas = plot.root.querySelector('canvas');
    canvas?.setAttribute('role', 'img');
    canvas?.setAttribute('aria-label', description);
    const resize = new ResizeObserver(() => {
      const w = Math.max(280, el.clientWidth);
      if (w !== plot.width) plot.setSize({ width: w, height: 300 });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [days, currency, series, description]);

  return (
    <figure class="finance-chart">
      <div ref={box} class="finance-chart-canvas" />
      <figcaption>
        <ul class="finance-legend">
          {series.map((s) => (
            <li key={s.label}><span class="finance-swatch" style={{ borderColor: s.color, borderStyle: s.dash ? 'dashed' : 'solid' }} aria-hidden="true" />{s.label} ({currency})</li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}
