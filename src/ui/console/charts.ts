import { html, svg, type SVGTemplateResult, type TemplateResult } from 'lit';
import { formatCredits } from '../format.js';

/**
 * Bar charts as plain SVG: sizes are attributes and colours come from console.css, so nothing needs
 * an inline style or a charting library; each bar's <title> gives its exact figures on hover. Drawn
 * at their size in pixels (text stays legible), shrunk to fit a narrower window by the stylesheet.
 */

export interface Bar {
  label: string;
  credits: number;
  /** Said on hover, after the credits. */
  detail: string;
}

const WIDTH = 560;
const LABEL_WIDTH = 170;
const VALUE_WIDTH = 70;
const ROW = 26;

/** One row per key (a feature, a user), longest bar for the most credits. */
export function horizontalBars(bars: readonly Bar[], caption: string): TemplateResult {
  const most = Math.max(...bars.map((bar) => bar.credits), 0);
  const span = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
  const rows = bars.map((bar, index): SVGTemplateResult => {
    const y = index * ROW;
    const width = most === 0 ? 0 : Math.max(1, (bar.credits / most) * span);
    return svg`<g class="row">
      <title>${bar.label}: ${formatCredits(bar.credits)} credits, ${bar.detail}</title>
      <text class="label" x=${LABEL_WIDTH - 8} y=${y + ROW / 2} text-anchor="end" dominant-baseline="middle">${bar.label}</text>
      <rect class="bar" x=${LABEL_WIDTH} y=${y + 4} width=${width} height=${ROW - 8} rx="3"></rect>
      <text class="value" x=${LABEL_WIDTH + width + 6} y=${y + ROW / 2} dominant-baseline="middle">${formatCredits(bar.credits)}</text>
    </g>`;
  });
  return html`<figure class="chart">
    <figcaption>${caption}</figcaption>
    ${bars.length === 0
      ? html`<p class="empty">No usage in this range.</p>`
      : html`<svg role="img" aria-label=${caption} viewBox="0 0 ${WIDTH} ${bars.length * ROW}" width=${WIDTH} height=${bars.length * ROW}>${rows}</svg>`}
  </figure>`;
}

const DAYS_WIDTH = 1_080;
const HEIGHT = 180;
const AXIS = 22;

/** One column per day of the range, days without usage included, so gaps show as gaps. */
export function dailyColumns(days: readonly Bar[], caption: string): TemplateResult {
  const most = Math.max(...days.map((day) => day.credits), 0);
  const step = days.length === 0 ? 0 : DAYS_WIDTH / days.length;
  // At most about ten dates under the axis, whatever the range.
  const labelEvery = Math.max(1, Math.ceil(days.length / 10));
  const columns = days.map((day, index): SVGTemplateResult => {
    const height = most === 0 || day.credits === 0 ? 0 : Math.max(1, (day.credits / most) * (HEIGHT - AXIS - 14));
    const x = index * step;
    return svg`<g class="column">
      <title>${day.label}: ${formatCredits(day.credits)} credits, ${day.detail}</title>
      <rect class="hit" x=${x} y="0" width=${step} height=${HEIGHT - AXIS}></rect>
      <rect class="bar" x=${x + step * 0.15} y=${HEIGHT - AXIS - height} width=${step * 0.7} height=${height} rx="2"></rect>
      ${index % labelEvery === 0 ? svg`<text class="label" x=${x + step / 2} y=${HEIGHT - 6} text-anchor="middle">${day.label.slice(5)}</text>` : null}
    </g>`;
  });
  return html`<figure class="chart">
    <figcaption>${caption}</figcaption>
    ${most === 0
      ? html`<p class="empty">No usage in this range.</p>`
      : html`<svg role="img" aria-label=${caption} viewBox="0 0 ${DAYS_WIDTH} ${HEIGHT}" width=${DAYS_WIDTH} height=${HEIGHT}>
          <line class="axis" x1="0" x2=${DAYS_WIDTH} y1=${HEIGHT - AXIS} y2=${HEIGHT - AXIS}></line>
          ${columns}
        </svg>`}
  </figure>`;
}
