// Pure helpers of the dashboard: chart data from a GET /api/v1/usage answer.
import { money } from '../format.js';
import { palette } from './charts.js';

export const windows = [7, 14, 30];

/** "2026-03-07" -> "Mar 7" (the day is a UTC day). */
export function dayLabel(day) {
  const d = new Date(`${day}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return day;
  return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
}

export function agentLabel(a) {
  return a.agent_id ? (a.name ?? a.agent_id.slice(0, 8)) : 'No agent (skill tests, deleted agents)';
}

export function modelLabel(m) {
  if (!m.model) return 'Not started';
  return m.provider ? `${m.provider} / ${m.model}` : m.model;
}

const dollars = (micros) => Number(micros ?? 0) / 1e6;
// Axis ticks: three significant digits ($0.2, $1.25), no trailing zeros.
const moneyTick = (v) => `$${Number(Number(v).toPrecision(3))}`;

/** Executions (bars, left axis) and cost (line, right axis) per day. */
export function perDayChart(usage) {
  const days = usage?.per_day ?? [];
  return {
    data: {
      labels: days.map((d) => dayLabel(d.day)),
      datasets: [
        {
          type: 'bar',
          label: 'Executions',
          data: days.map((d) => d.executions),
          backgroundColor: '#93b4f5',
          borderColor: palette[0],
          borderWidth: 1,
          yAxisID: 'runs',
          order: 2,
        },
        {
          type: 'line',
          label: 'Cost',
          data: days.map((d) => dollars(d.cost_micros)),
          borderColor: palette[2],
          backgroundColor: palette[2],
          pointRadius: 2,
          tension: 0.25,
          yAxisID: 'cost',
          order: 1,
        },
      ],
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 8 } },
        runs: { type: 'linear', position: 'left', beginAtZero: true, ticks: { precision: 0 },
          title: { display: true, text: 'Executions' } },
        cost: { type: 'linear', position: 'right', beginAtZero: true, grid: { drawOnChartArea: false },
          ticks: { callback: moneyTick }, title: { display: true, text: 'Cost' } },
      },
      plugins: {
        legend: { position: 'bottom' },
        tooltip: {
          callbacks: {
            label: (ctx) => ctx.dataset.yAxisID === 'cost'
              ? `Cost: ${money(ctx.parsed.y * 1e6)}`
              : `Executions: ${ctx.parsed.y}`,
          },
        },
      },
    },
  };
}

/** Executions and cost per agent (horizontal bars, two axes). */
export function perAgentChart(usage) {
  const rows = usage?.per_agent ?? [];
  return twoBarChart(rows.map(agentLabel), rows);
}

/** Share of executions per model (doughnut). */
export function perModelChart(usage) {
  const rows = usage?.per_model ?? [];
  return {
    data: {
      labels: rows.map(modelLabel),
      datasets: [{
        label: 'Executions',
        data: rows.map((m) => m.executions),
        backgroundColor: rows.map((_, i) => palette[i % palette.length]),
        borderWidth: 1,
      }],
    },
    options: {
      plugins: {
        legend: { position: 'bottom' },
        tooltip: {
          callbacks: {
            label: (ctx) => {
              const m = rows[ctx.dataIndex];
              return `${m.executions} executions, ${money(m.cost_micros)}`;
            },
          },
        },
      },
    },
  };
}

function twoBarChart(labels, rows) {
  return {
    data: {
      labels: labels.map((l) => (l.length > 28 ? `${l.slice(0, 27)}…` : l)),
      datasets: [
        { label: 'Executions', data: rows.map((r) => r.executions), backgroundColor: palette[0], xAxisID: 'runs' },
        { label: 'Cost', data: rows.map((r) => dollars(r.cost_micros)), backgroundColor: palette[2], xAxisID: 'cost' },
      ],
    },
    options: {
      indexAxis: 'y',
      scales: {
        runs: { type: 'linear', position: 'bottom', beginAtZero: true, ticks: { precision: 0 } },
        cost: { type: 'linear', position: 'top', beginAtZero: true, grid: { drawOnChartArea: false },
          ticks: { callback: moneyTick } },
        y: { grid: { display: false } },
      },
      plugins: {
        legend: { position: 'bottom' },
        tooltip: {
          callbacks: {
            label: (ctx) => ctx.dataset.xAxisID === 'cost'
              ? `Cost: ${money(ctx.parsed.x * 1e6)}`
              : `Executions: ${ctx.parsed.x}`,
          },
        },
      },
    },
  };
}

/** Success rate in percent, or null without finished executions. */
export function successRate(t) {
  const done = (t?.succeeded ?? 0) + (t?.failed ?? 0);
  return done ? Math.round((100 * t.succeeded) / done) : null;
}
