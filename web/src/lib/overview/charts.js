// The parts of chart.js the overview pages draw with, registered once
// (importing 'chart.js/auto' would bundle every chart type).
import {
  Chart,
  BarController,
  BarElement,
  LineController,
  LineElement,
  PointElement,
  DoughnutController,
  ArcElement,
  CategoryScale,
  LinearScale,
  Tooltip,
  Legend,
} from 'chart.js';

Chart.register(
  BarController,
  BarElement,
  LineController,
  LineElement,
  PointElement,
  DoughnutController,
  ArcElement,
  CategoryScale,
  LinearScale,
  Tooltip,
  Legend,
);

Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
Chart.defaults.color = '#5b6270';
Chart.defaults.borderColor = '#e3e6eb';

/** Colours in the console's palette, for series and slices. */
export const palette = ['#1d4ed8', '#15803d', '#a16207', '#b91c1c', '#7c3aed', '#0e7490', '#be185d', '#4d7c0f',
  '#c2410c', '#475569'];

export const reducedMotion = () =>
  typeof window !== 'undefined' && window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;

export { Chart };
