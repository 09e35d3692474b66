/*
 * The retention report as one self-contained HTML5 page (report.h, issue 25): the summary,
 * the save-now and win-back lists, and four charts drawn here as inline SVG (value-tier
 * shares, the P(alive) distribution, retention by acquisition cohort, Kaplan-Meier retention
 * by tier). No script, font, image file or URL: the page opens offline and prints.
 *
 * The page is written into a growing buffer (page_buf, through the allocator hook) and
 * copied to the caller. Every caller text is escaped (esc); numbers go through the C-locale
 * printf of core/. Calls core/, the public survival/ Kaplan-Meier (churn_km_*) and the
 * public data/ date formatter (churn_format_date). Calls no other file of evaluate/.
 */
#include "core/internal.h"
#include "churn/report.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char fn[] = "churn_report_html";

CHURN_API void churn_report_page_init(churn_report_page *page)
{
    if (page) {
        churn_report_page def = CHURN_REPORT_PAGE_INIT;
        *page = def;
    }
}

/* ---- the growing page ------------------------------------------------------------ */

typedef struct page_buf {
    char *p;
    size_t n, cap;
    int oom; /* an allocation failed: everything after it is dropped */
} page_buf;

static void put_n(page_buf *b, const char *s, size_t k)
{
    if (b->oom)
        return;
    if (b->n + k + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (b->n + k + 1 > cap)
            cap *= 2;
        char *np = churn__realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, k);
    b->n += k;
    b->p[b->n] = '\0';
}

static void put(page_buf *b, const char *s) { put_n(b, s, strlen(s)); }

/* printf in the C locale (numbers with '.'); the formats here need less than 512 bytes,
 * text of unbounded length goes through esc(). */
static void putf(page_buf *b, const char *fmt, ...) CHURN__PRINTF(2, 3);
static void putf(page_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int k = churn__vsnprintf_c(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k > 0)
        put_n(b, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

/* Caller text, escaped for HTML text and attribute values. */
static void esc(page_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': put(b, "&amp;"); break;
        case '<': put(b, "&lt;"); break;
        case '>': put(b, "&gt;"); break;
        case '"': put(b, "&quot;"); break;
        case '\'': put(b, "&#39;"); break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n')
                put(b, " "); /* control characters are not allowed in HTML text */
            else
                put_n(b, s, 1);
        }
    }
}

/* ---- chart helpers ---------------------------------------------------------------- */

/* Colour-blind safe (Okabe-Ito) colours of the tiers 1..3 and of the two lists. */
static const char *const tier_colour[4] = {"#000000", "#0072B2", "#E69F00", "#999999"};
static const char *const tier_label[4] = {"", "key", "important", "ordinary"};
static const char save_colour[] = "#009E73", win_colour[] = "#D55E00";

/* A tick step of 1, 2 or 5 times a power of ten giving about `want` ticks over [0, hi]. */
static double nice_step(double hi, int want)
{
    if (!(hi > 0))
        return 1;
    double raw = hi / want, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

/* An SVG chart of w x h user units; it scales with the page's width (viewBox), never above
 * 1.2 times its own size (a small chart stays small, its text readable). */
static void svg_open(page_buf *b, int w, int h, const char *id, const char *title)
{
    putf(b, "<svg viewBox=\"0 0 %d %d\" style=\"max-width:%dpx\" role=\"img\" "
            "aria-labelledby=\"%s-t\" preserveAspectRatio=\"xMidYMid meet\">"
            "<title id=\"%s-t\">", w, h, w * 6 / 5, id, id);
    esc(b, title);
    put(b, "</title>\n");
}

/* A legend swatch and its label at (x, y). */
static void swatch(page_buf *b, double x, double y, const char *colour, const char *label)
{
    putf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>"
            "<text x=\"%.1f\" y=\"%.1f\" class=\"lg\">", x, y - 10, colour, x + 16, y);
    esc(b, label);
    put(b, "</text>\n");
}

/* ---- inputs ----------------------------------------------------------------------- */

typedef struct ranked {
    double v;
    size_t i;
} ranked;

/* Largest first; ties keep the input order. */
static int ranked_cmp(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->v != b->v)
        return a->v > b->v ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

static int check_page(const churn_report_page *pg)
{
    if (!pg->customer_id || !pg->p_alive || !pg->clv || !pg->value_at_risk || !pg->tier)
        return churn__error(CHURN_EINVAL, "%s: customer_id, p_alive, clv, value_at_risk and "
                            "tier are required (a NULL array)", fn);
    if (pg->n == 0)
        return churn__error(CHURN_EINVAL, "%s: n = 0 customers", fn);
    if (!(pg->alive_threshold > 0 && pg->alive_threshold < 1))
        return churn__error(CHURN_EINVAL, "%s: alive_threshold %g is not strictly between 0 "
                            "and 1", fn, pg->alive_threshold);
    if (!(pg->time_unit_days > 0) || !isfinite(pg->time_unit_days))
        return churn__error(CHURN_EINVAL, "%s: time_unit_days %g must be > 0 days", fn,
                            pg->time_unit_days);
    if (pg->horizon <= 0 || !(pg->period >= 0) || !isfinite(pg->period) ||
        !(pg->discount >= 0) || !isfinite(pg->discount) || !isfinite(pg->margin))
        return churn__error(CHURN_EINVAL, "%s: CLV settings: horizon %d must be > 0, period "
                            "%g >= 0, discount %g >= 0, margin %g finite", fn, pg->horizon,
                            pg->period, pg->discount, pg->margin);
    if (!pg->recency != !pg->T)
        return churn__error(CHURN_EINVAL, "%s: recency and T go together (one is NULL)", fn);
    if (pg->n_cohorts && (!pg->cohort_start || !pg->cohort_retention ||
                          !(pg->cohort_period_days > 0) || !isfinite(pg->cohort_period_days)))
        return churn__error(CHURN_EINVAL, "%s: %zu cohorts need cohort_start, "
                            "cohort_retention and cohort_period_days > 0", fn, pg->n_cohorts);
    for (size_t i = 0; i < pg->n; i++) {
        if (!pg->customer_id[i])
            return churn__error(CHURN_EINVAL, "%s: row %zu: customer_id is NULL", fn, i);
        if (!(pg->p_alive[i] >= 0 && pg->p_alive[i] <= 1))
            return churn__error(CHURN_EINVAL, "%s: row %zu: p_alive %g is not a probability",
                                fn, i, pg->p_alive[i]);
        if (!isfinite(pg->clv[i]) || !(pg->value_at_risk[i] >= 0) ||
            !isfinite(pg->value_at_risk[i]))
            return churn__error(CHURN_EINVAL, "%s: row %zu: clv %g must be finite and "
                                "value_at_risk %g finite and >= 0", fn, i, pg->clv[i],
                                pg->value_at_risk[i]);
        if (pg->tier[i] < CHURN_TIER_KEY || pg->tier[i] > CHURN_TIER_ORDINARY)
            return churn__error(CHURN_EINVAL, "%s: row %zu: tier %d is not 1 (key), 2 "
                                "(important) or 3 (ordinary)", fn, i, pg->tier[i]);
        if (pg->recency && (!(pg->recency[i] >= 0) || !(pg->T[i] >= pg->recency[i]) ||
                            !isfinite(pg->T[i])))
            return churn__error(CHURN_EINVAL, "%s: row %zu: recency %g and T %g must satisfy "
                                "0 <= recency <= T (time units)", fn, i, pg->recency[i],
                                pg->T[i]);
    }
    return CHURN_OK;
}

/* The members of one list ranked, the first `top` into idx; returns the list's size or
 * (size_t)-1 out of memory. save: p_alive >= thr by value_at_risk; else the rest by
 * value_if_active = clv + value_at_risk. */
static size_t rank_list(const churn_report_page *pg, int save, size_t *idx, size_t top,
                        double *total)
{
    size_t m = 0;
    for (size_t i = 0; i < pg->n; i++)
        m += (pg->p_alive[i] >= pg->alive_threshold) == save;
    ranked *w = churn__malloc((m ? m : 1) * sizeof *w);
    if (!w)
        return (size_t)-1;
    *total = 0;
    for (size_t i = 0, k = 0; i < pg->n; i++)
        if ((pg->p_alive[i] >= pg->alive_threshold) == save) {
            double v = save ? pg->value_at_risk[i] : pg->clv[i] + pg->value_at_risk[i];
            w[k++] = (ranked){v, i};
            *total += v;
        }
    qsort(w, m, sizeof *w, ranked_cmp);
    for (size_t k = 0; k < m && k < top; k++)
        idx[k] = w[k].i;
    churn__free(w);
    return m;
}

/* ---- sections --------------------------------------------------------------------- */

static const char style[] =
    "<style>\n"
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
    "margin:0 auto;max-width:60rem;padding:0 1rem 2rem;color:#222;line-height:1.4}\n"
    "h1{font-size:1.6rem;margin:1rem 0 .2rem}h2{font-size:1.25rem;margin:1.6rem 0 .4rem;"
    "border-bottom:1px solid #ccc}\n"
    "p.note{color:#555;font-size:.9rem;margin:.3rem 0}\n"
    "table{border-collapse:collapse;font-size:.9rem}th,td{padding:.2rem .5rem;"
    "border-bottom:1px solid #e4e4e4;text-align:left}td.num,th.num{text-align:right;"
    "font-variant-numeric:tabular-nums}\n"
    ".scroll{overflow-x:auto}\n"
    "svg{width:100%;height:auto;max-width:46rem;display:block;margin:.4rem 0}\n"
    "svg text{font-size:12px;fill:#222}svg text.lg{font-size:12px}svg text.ax{font-size:13px;"
    "font-weight:600}svg text.cell{font-size:10px}\n"
    ".axis{stroke:#444;stroke-width:1}.grid{stroke:#ddd;stroke-width:1}\n"
    "dl.summary{display:grid;grid-template-columns:max-content auto;gap:.15rem 1rem;"
    "margin:.4rem 0}dl.summary dt{font-weight:600}dl.summary dd{margin:0}\n"
    "@media (max-width:40rem){body{padding:0 .5rem}table{font-size:.8rem}"
    "dl.summary{grid-template-columns:auto}}\n"
    "@media print{body{max-width:none;font-size:10pt}.scroll{overflow:visible}"
    "section{break-inside:avoid;page-break-inside:avoid}svg{max-width:16cm}"
    "h2{break-after:avoid}}\n"
    "</style>\n";

static void money(page_buf *b, double v) { putf(b, "%.2f", v); }

/* An amount with its unit, then `tail`. */
static void money_in(page_buf *b, double v, const char *cur, const char *tail)
{
    money(b, v);
    put(b, " ");
    esc(b, cur);
    put(b, tail);
}

static void summary_item(page_buf *b, const char *id, const char *label)
{
    putf(b, "<dt>%s</dt><dd id=\"%s\">", label, id);
}

static void section_summary(page_buf *b, const churn_report_page *pg, const char *cur,
                            size_t nsave, double tsave, size_t nwin, double twin)
{
    double tclv = 0, tvar = 0, key = 0;
    size_t tier_count[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < pg->n; i++) {
        tclv += pg->clv[i];
        tvar += pg->value_at_risk[i];
        tier_count[pg->tier[i]]++;
        if (pg->tier[i] == CHURN_TIER_KEY)
            key += pg->clv[i];
    }
    char unit[64];
    churn_time_unit_describe(pg->time_unit_days, unit, sizeof unit);
    put(b, "<section id=\"summary\"><h2>Summary</h2>\n<dl class=\"summary\">\n");
    summary_item(b, "customers", "Customers");
    putf(b, "%zu</dd>\n", pg->n);
    if (pg->cutoff) {
        summary_item(b, "cutoff", "As of (cutoff)");
        esc(b, pg->cutoff);
        put(b, "</dd>\n");
    }
    if (pg->model) {
        summary_item(b, "model", "Purchase model");
        esc(b, pg->model);
        put(b, " + Gamma-Gamma spend</dd>\n");
    }
    summary_item(b, "clv-settings", "Horizon");
    putf(b, "%d periods of %g time units (time unit: ", pg->horizon, pg->period);
    esc(b, unit);
    putf(b, "), discount %g per period, margin %g</dd>\n", pg->discount, pg->margin);
    summary_item(b, "total-clv", "Total expected value (CLV)");
    money_in(b, tclv, cur, "</dd>\n");
    summary_item(b, "total-value-at-risk", "Total value at risk");
    money_in(b, tvar, cur, "</dd>\n");
    summary_item(b, "key-share", "Key tier's share of the value");
    putf(b, "%.1f%% of the CLV from %zu key customers (%.1f%% of customers)</dd>\n",
         tclv != 0 ? 100.0 * key / tclv : 0.0, tier_count[1],
         100.0 * (double)tier_count[1] / (double)pg->n);
    summary_item(b, "save-now-total", "Save now");
    putf(b, "%zu customers with P(alive) &ge; %g; expected loss ", nsave, pg->alive_threshold);
    money_in(b, tsave, cur, "</dd>\n");
    summary_item(b, "win-back-total", "Win back");
    putf(b, "%zu customers with P(alive) &lt; %g; worth ", nwin, pg->alive_threshold);
    money_in(b, twin, cur, " if all were won back</dd>\n</dl>\n</section>\n");
}

static void section_list(page_buf *b, const churn_report_page *pg, int save, const size_t *idx,
                         size_t k, size_t m, const char *cur)
{
    if (save) {
        put(b, "<section id=\"save-now\"><h2>Save now</h2>\n");
        putf(b, "<p class=\"note\">%zu customers still likely active (P(alive) &ge; %g), ranked "
                "by the expected loss over the horizon (value at risk = value if still active "
                "&minus; expected value), with the alert rules that fired. Showing the first "
                "%zu.</p>\n", m, pg->alive_threshold, k);
    } else {
        put(b, "<section id=\"win-back\"><h2>Win back</h2>\n");
        putf(b, "<p class=\"note\">%zu customers likely gone (P(alive) &lt; %g), ranked by the "
                "value they would bring over the horizon if won back (value if active = CLV + "
                "value at risk). Showing the first %zu.</p>\n", m, pg->alive_threshold, k);
    }
    if (!k) {
        put(b, "</section>\n");
        return;
    }
    put(b, "<div class=\"scroll\"><table>\n<thead><tr><th class=\"num\">rank</th>"
           "<th>customer</th><th class=\"num\">P(alive)</th>");
    if (save) {
        put(b, "<th class=\"num\">value at risk (");
        esc(b, cur);
        put(b, ")</th><th class=\"num\">CLV (");
    } else {
        put(b, "<th class=\"num\">value if won back (");
        esc(b, cur);
        put(b, ")</th><th class=\"num\">CLV (");
    }
    esc(b, cur);
    put(b, ")</th><th>tier</th><th>alerts</th></tr></thead>\n<tbody>\n");
    for (size_t j = 0; j < k; j++) {
        size_t i = idx[j];
        putf(b, "<tr><td class=\"num\">%zu</td><td>", j + 1);
        esc(b, pg->customer_id[i]);
        putf(b, "</td><td class=\"num\">%.4f</td><td class=\"num\">", pg->p_alive[i]);
        money(b, save ? pg->value_at_risk[i] : pg->clv[i] + pg->value_at_risk[i]);
        put(b, "</td><td class=\"num\">");
        money(b, pg->clv[i]);
        putf(b, "</td><td>%s</td><td>", tier_label[pg->tier[i]]);
        if (pg->alerts && pg->alerts[i]) {
            for (const char *s = pg->alerts[i]; *s; s++) { /* ';' -> ", " */
                if (*s == ';')
                    put(b, ", ");
                else {
                    char c[2] = {*s, 0};
                    esc(b, c);
                }
            }
        }
        put(b, "</td></tr>\n");
    }
    put(b, "</tbody></table></div>\n</section>\n");
}

/* The 80/20 picture: each tier's share of the customers and of the CLV, as stacked bars. */
static void section_tiers(page_buf *b, const churn_report_page *pg, const char *cur)
{
    double cnt[4] = {0, 0, 0, 0}, val[4] = {0, 0, 0, 0}, tc = 0;
    for (size_t i = 0; i < pg->n; i++) {
        cnt[pg->tier[i]] += 1;
        val[pg->tier[i]] += pg->clv[i] > 0 ? pg->clv[i] : 0;
        tc += pg->clv[i] > 0 ? pg->clv[i] : 0;
    }
    put(b, "<section id=\"tiers\"><h2>Value tiers: who holds the value</h2>\n"
           "<p class=\"note\">Tiers by CLV: key = top 20% of customers, important = next 30%, "
           "ordinary = the rest. Each bar is 100%: the tiers' shares of the customers and of "
           "the expected value.</p>\n");
    svg_open(b, 640, 210, "tiers-chart", "Share of customers and of expected value by tier");
    const double x0 = 130, w = 470;
    for (int r = 0; r < 2; r++) {
        double y = 30 + r * 60, x = x0;
        putf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%s</text>\n", x0 - 8, y + 24,
             r ? "expected value" : "customers");
        for (int t = 1; t <= 3; t++) {
            double tot = r ? tc : (double)pg->n, share = tot > 0 ? (r ? val[t] : cnt[t]) / tot : 0;
            double sw = share * w;
            putf(b, "<rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"36\" fill=\"%s\">"
                    "<title>%s: %.1f%%</title></rect>\n", x, y, sw, tier_colour[t],
                 tier_label[t], 100 * share);
            if (sw > 38)
                putf(b, "<text x=\"%.2f\" y=\"%.0f\" text-anchor=\"middle\" "
                        "style=\"fill:%s\">%.0f%%</text>\n", x + sw / 2, y + 23,
                     t == 1 ? "#fff" : "#000", 100 * share);
            x += sw;
        }
    }
    for (int k = 0; k <= 10; k += 2) {
        double x = x0 + w * k / 10.0;
        putf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"148\" x2=\"%.1f\" y2=\"153\"/>"
                "<text x=\"%.1f\" y=\"166\" text-anchor=\"middle\">%d</text>\n", x, x, x, k * 10);
    }
    putf(b, "<line class=\"axis\" x1=\"%.0f\" y1=\"148\" x2=\"%.0f\" y2=\"148\"/>\n", x0, x0 + w);
    putf(b, "<text class=\"ax\" x=\"%.0f\" y=\"184\" text-anchor=\"middle\">share of customers "
            "or of expected value (%%)</text>\n", x0 + w / 2);
    swatch(b, x0, 205, tier_colour[1], "key tier");
    swatch(b, x0 + 120, 205, tier_colour[2], "important tier");
    swatch(b, x0 + 270, 205, tier_colour[3], "ordinary tier");
    put(b, "</svg>\n<p class=\"note\">Expected value (CLV) in ");
    esc(b, cur);
    put(b, "; negative CLVs count as 0 in the shares.</p>\n</section>\n");
}

/* Histogram of P(alive), 20 bins of 0.05, coloured by list, the threshold marked. */
static void section_palive(page_buf *b, const churn_report_page *pg)
{
    size_t bins[20] = {0}, most = 1;
    for (size_t i = 0; i < pg->n; i++) {
        int k = (int)(pg->p_alive[i] * 20);
        bins[k > 19 ? 19 : k]++;
    }
    for (int k = 0; k < 20; k++)
        most = bins[k] > most ? bins[k] : most;
    double step = nice_step((double)most, 5), top = ceil((double)most / step) * step;
    const double x0 = 80, x1 = 620, y0 = 20, y1 = 240;
    put(b, "<section id=\"p-alive\"><h2>P(alive) distribution</h2>\n"
           "<p class=\"note\">Customers by the model's probability that they are still active "
           "at the cutoff, in bins of 0.05. The dashed line is the threshold between the "
           "lists.</p>\n");
    svg_open(b, 640, 320, "p-alive-chart", "Customers by P(alive)");
    for (double v = 0; v <= top + step / 2; v += step) {
        double y = y1 - (y1 - y0) * v / top;
        putf(b, "<line class=\"grid\" x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>"
                "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", x0, y, x1, y,
             x0 - 6, y + 4, v);
    }
    for (int k = 0; k < 20; k++) {
        double bw = (x1 - x0) / 20, h = (y1 - y0) * (double)bins[k] / top;
        int save = (k + 0.5) / 20.0 >= pg->alive_threshold;
        putf(b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\">"
                "<title>P(alive) %.2f&ndash;%.2f: %zu customers</title></rect>\n",
             x0 + k * bw + 1, y1 - h, bw - 2, h, save ? save_colour : win_colour, k / 20.0,
             (k + 1) / 20.0, bins[k]);
    }
    putf(b, "<line class=\"axis\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>"
            "<line class=\"axis\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>\n",
         x0, y1, x1, y1, x0, y0, x0, y1);
    for (int k = 0; k <= 10; k++) {
        double x = x0 + (x1 - x0) * k / 10.0;
        putf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\"/>"
                "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%.1f</text>\n", x, y1, x,
             y1 + 5, x, y1 + 18, k / 10.0);
    }
    double xt = x0 + (x1 - x0) * pg->alive_threshold;
    putf(b, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#000\" "
            "stroke-dasharray=\"5 4\" stroke-width=\"1.5\"/><text x=\"%.1f\" y=\"%.0f\" "
            "text-anchor=\"middle\">threshold %g</text>\n", xt, y0 - 4, xt, y1, xt, y0 - 6 + 0.0,
         pg->alive_threshold);
    putf(b, "<text class=\"ax\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">P(alive) at the "
            "cutoff (probability, 0&ndash;1)</text>\n", (x0 + x1) / 2, y1 + 38);
    putf(b, "<text class=\"ax\" transform=\"translate(18 %.0f) rotate(-90)\" "
            "text-anchor=\"middle\">customers (count)</text>\n", (y0 + y1) / 2);
    swatch(b, x0, 310, win_colour, "win back (P(alive) below the threshold)");
    swatch(b, x0 + 290, 310, save_colour, "save now (at or above it)");
    put(b, "</svg>\n</section>\n");
}

/* Words for a period of `days` days, plural. */
static const char *period_words(double days, char *buf, size_t cap)
{
    if (days == CHURN_UNIT_DAY)
        return "days";
    if (days == CHURN_UNIT_WEEK)
        return "weeks";
    if (days == CHURN_UNIT_MONTH)
        return "months";
    if (days == CHURN_UNIT_YEAR)
        return "years";
    churn__snprintf_c(buf, cap, "periods of %g days", days);
    return buf;
}

/* Retention by acquisition cohort: a heat map, rows = cohorts, columns = periods since. */
static void section_cohorts(page_buf *b, const churn_report_page *pg)
{
    put(b, "<section id=\"cohorts\"><h2>Retention by acquisition cohort</h2>\n");
    size_t nc = pg->n_cohorts, rows[24], nr = 0;
    for (size_t i = nc; i-- > 0 && nr < 24;) /* the last 24 non-empty cohorts */
        if (!pg->cohort_size || pg->cohort_size[i] > 0)
            rows[nr++] = i;
    if (!nr) {
        put(b, "<p class=\"note\">No cohort table was given.</p>\n</section>\n");
        return;
    }
    size_t ncol = 0; /* offsets observed for at least one drawn cohort, at most 24 */
    for (size_t r = 0; r < nr; r++) {
        size_t obs = nc - rows[r];
        ncol = obs > ncol ? obs : ncol;
    }
    ncol = ncol > 24 ? 24 : ncol;
    char pw[64];
    const char *per = period_words(pg->cohort_period_days, pw, sizeof pw);
    put(b, "<p class=\"note\">Each row is the customers whose first purchase fell in one "
           "period; each cell the share of them who bought in the k-th period after it (k = 0: "
           "the first period, 100%). Periods: ");
    esc(b, per);
    put(b, "; the last period is usually only partly observed.</p>\n");
    const double cw = 22, ch = 18, x0 = 100, y0 = 46;
    int w = (int)(x0 + cw * (double)ncol + 20), h = (int)(y0 + ch * (double)nr + 50);
    w = w < 360 ? 360 : w;
    svg_open(b, w, h, "cohort-chart", "Retention by acquisition cohort");
    putf(b, "<text class=\"ax\" x=\"%.0f\" y=\"14\">", x0);
    esc(b, per);
    put(b, " since the first purchase</text>\n");
    for (size_t k = 0; k < ncol; k++)
        putf(b, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%zu</text>\n",
             x0 + cw * ((double)k + 0.5), y0 - 8, k);
    for (size_t r = 0; r < nr; r++) {
        size_t i = rows[nr - 1 - r]; /* oldest first */
        double y = y0 + ch * (double)r;
        char date[32];
        if (churn_format_date(pg->cohort_start[i], date, sizeof date) != CHURN_OK)
            churn__snprintf_c(date, sizeof date, "%g", pg->cohort_start[i]);
        putf(b, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", x0 - 6,
             y + ch - 5, date);
        for (size_t k = 0; k < ncol; k++) {
            double v = pg->cohort_retention[i * nc + k];
            if (!(v >= 0) || i + k >= nc)
                continue;
            v = v > 1 ? 1 : v;
            int shade = (int)lround(255 - 200 * sqrt(v)); /* sqrt: small shares stay visible */
            putf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                    "fill=\"rgb(%d,%d,255)\"><title>cohort %s, %s %zu: %.1f%%</title></rect>",
                 x0 + cw * (double)k, y, cw - 1, ch - 1, shade, shade, date, per, k, 100 * v);
            putf(b, "<text class=\"cell\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                    "style=\"fill:%s\">%.0f</text>\n", x0 + cw * ((double)k + 0.5), y + ch - 6,
                 v > 0.45 ? "#fff" : "#000", 100 * v);
        }
    }
    double ly = y0 + ch * (double)nr + 22;
    putf(b, "<text class=\"ax\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">cohort</text>\n",
         x0 - 6, y0 - 8);
    putf(b, "<text x=\"%.0f\" y=\"%.1f\" class=\"lg\">cell: share of the cohort buying in the "
            "period (%%):</text>\n", x0 - 90, ly);
    for (int k = 0; k <= 4; k++) {
        int shade = (int)lround(255 - 200 * sqrt(k / 4.0));
        putf(b, "<rect x=\"%.0f\" y=\"%.1f\" width=\"30\" height=\"12\" fill=\"rgb(%d,%d,255)\" "
                "stroke=\"#999\"/><text x=\"%.0f\" y=\"%.1f\" class=\"lg\">%d</text>\n",
             x0 - 90 + 60.0 * k, ly + 8, shade, shade, x0 - 90 + 60.0 * k + 34, ly + 19,
             25 * k);
    }
    put(b, "</svg>\n</section>\n");
}

/* Kaplan-Meier retention by tier: lost = P(alive) below the threshold, at the last purchase. */
static int section_km(page_buf *b, const churn_report_page *pg)
{
    put(b, "<section id=\"km\"><h2>Retention by tier (Kaplan-Meier)</h2>\n");
    if (!pg->recency) {
        put(b, "<p class=\"note\">No recency and T were given.</p>\n</section>\n");
        return CHURN_OK;
    }
    size_t n = pg->n;
    double *dur = churn__malloc(2 * n * sizeof *dur);
    int64_t *grp = churn__malloc(n * sizeof *grp);
    churn_km *km = NULL;
    double *col = NULL;
    int st = CHURN_OK;
    if (!dur || !grp) {
        st = churn__nomem("the Kaplan-Meier inputs");
        goto done;
    }
    double *ev = dur + n, tmax = 0;
    for (size_t i = 0; i < n; i++) {
        ev[i] = pg->p_alive[i] < pg->alive_threshold;
        dur[i] = ev[i] ? pg->recency[i] : pg->T[i];
        grp[i] = pg->tier[i];
        tmax = pg->T[i] > tmax ? pg->T[i] : tmax;
    }
    st = churn_km_fit(&km, n, dur, ev, NULL, grp, NULL);
    if (st)
        goto done;
    char unit[64], uw[64];
    churn_time_unit_describe(pg->time_unit_days, unit, sizeof unit);
    const char *words = period_words(pg->time_unit_days, uw, sizeof uw);
    put(b, "<p class=\"note\">Share of each tier's customers still active a given time after "
           "their first purchase. A customer with P(alive) below the threshold counts as lost "
           "at their last purchase; the others are still active at the cutoff (censored). "
           "Time in ");
    esc(b, unit);
    put(b, ".</p>\n");
    const double x0 = 70, x1 = 620, y0 = 20, y1 = 240;
    double xs = nice_step(tmax > 0 ? tmax : 1, 6), xmax = ceil((tmax > 0 ? tmax : 1) / xs) * xs;
    svg_open(b, 660, 330, "km-chart", "Kaplan-Meier retention by tier");
    for (int k = 0; k <= 10; k += 2) {
        double y = y1 - (y1 - y0) * k / 10.0;
        putf(b, "<line class=\"grid\" x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>"
                "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%d</text>\n", x0, y, x1, y,
             x0 - 6, y + 4, k * 10);
    }
    for (double t = 0; t <= xmax + xs / 2; t += xs) {
        double x = x0 + (x1 - x0) * t / xmax;
        putf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\"/>"
                "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%g</text>\n", x, y1, x,
             y1 + 5, x, y1 + 18, t);
    }
    putf(b, "<line class=\"axis\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>"
            "<line class=\"axis\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>\n",
         x0, y1, x1, y1, x0, y0, x0, y1);
    size_t ng = churn_km_num_groups(km), maxt = 0;
    for (size_t g = 0; g < ng; g++)
        maxt = churn_km_num_times(km, g) > maxt ? churn_km_num_times(km, g) : maxt;
    if (!(col = churn__malloc(2 * (maxt ? maxt : 1) * sizeof *col))) {
        st = churn__nomem("the Kaplan-Meier curves");
        goto done;
    }
    double lx = 10;
    for (size_t g = 0; g < ng; g++) {
        int t = (int)churn_km_group_label(km, g);
        size_t nt = churn_km_num_times(km, g);
        double *tt = col, *ss = col + maxt;
        if ((st = churn_km_column(km, g, CHURN_KM_TIME, tt, maxt)) ||
            (st = churn_km_column(km, g, CHURN_KM_SURV, ss, maxt)))
            goto done;
        putf(b, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\" d=\"M%.1f %.1f",
             tier_colour[t], x0, y0);
        for (size_t k = 0; k < nt; k++) /* a right-continuous step at each time */
            putf(b, " H%.1f V%.1f", x0 + (x1 - x0) * tt[k] / xmax, y1 - (y1 - y0) * ss[k]);
        putf(b, " H%.1f\"><title>%s tier</title></path>\n",
             x0 + (x1 - x0) * (nt ? tt[nt - 1] : 0) / xmax, tier_label[t]);
        double cnt = 0;
        for (size_t i = 0; i < n; i++)
            cnt += pg->tier[i] == t;
        char lab[96];
        churn__snprintf_c(lab, sizeof lab, "%s tier (%.0f customers)", tier_label[t], cnt);
        swatch(b, lx, 322, tier_colour[t], lab);
        lx += 215;
    }
    putf(b, "<text class=\"ax\" x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">", (x0 + x1) / 2,
         y1 + 40);
    esc(b, words);
    put(b, " since the first purchase</text>\n");
    putf(b, "<text class=\"ax\" transform=\"translate(18 %.0f) rotate(-90)\" "
            "text-anchor=\"middle\">customers still active (%%)</text>\n", (y0 + y1) / 2);
    put(b, "</svg>\n</section>\n");
done:
    churn__free(col);
    churn_km_free(km);
    churn__free(grp);
    churn__free(dur);
    return st;
}

CHURN_API int churn_report_html(const churn_report_page *page, char *buf, size_t cap,
                                size_t *len)
{
    churn__ok();
    if (!page || !len)
        return churn__error(CHURN_EINVAL, "%s: NULL page or len", fn);
    churn_report_page pg = CHURN_REPORT_PAGE_INIT;
    int st = churn__opts_copy(&pg, sizeof pg, page, "churn_report_page");
    if (st)
        return st;
    if (pg.period == 0)
        pg.period = CHURN_UNIT_MONTH / pg.time_unit_days;
    if ((st = check_page(&pg)))
        return st;
    const char *cur = pg.currency ? pg.currency : "amount units";
    size_t top = pg.top < pg.n ? pg.top : pg.n;
    size_t *idx = churn__malloc(2 * (top ? top : 1) * sizeof *idx);
    page_buf b = {0};
    if (!idx)
        return churn__nomem("the page's lists");
    double tsave, twin;
    size_t nsave = rank_list(&pg, 1, idx, top, &tsave);
    size_t nwin = rank_list(&pg, 0, idx + top, top, &twin);
    if (nsave == (size_t)-1 || nwin == (size_t)-1) {
        st = churn__nomem("the page's lists");
        goto done;
    }
    const char *title = pg.title ? pg.title : "Retention report";
    put(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>");
    esc(&b, title);
    put(&b, "</title>\n");
    put(&b, style);
    put(&b, "</head>\n<body>\n<h1>");
    esc(&b, title);
    put(&b, "</h1>\n");
    section_summary(&b, &pg, cur, nsave, tsave, nwin, twin);
    section_list(&b, &pg, 1, idx, nsave < top ? nsave : top, nsave, cur);
    section_list(&b, &pg, 0, idx + top, nwin < top ? nwin : top, nwin, cur);
    section_tiers(&b, &pg, cur);
    section_palive(&b, &pg);
    section_cohorts(&b, &pg);
    if ((st = section_km(&b, &pg)))
        goto done;
    put(&b, "<p class=\"note\">Written by libchurn ");
    esc(&b, churn_version_string());
    put(&b, ". Definitions: docs/report.md.</p>\n</body>\n</html>\n");
    if (b.oom) {
        st = churn__nomem("the HTML page");
        goto done;
    }
    *len = b.n;
    if (buf && cap > b.n)
        memcpy(buf, b.p, b.n + 1);
    else if (buf)
        st = churn__error(CHURN_ERANGE, "%s: the page needs %zu bytes and the NUL, the buffer "
                          "holds %zu", fn, b.n, cap);
done:
    churn__free(b.p);
    churn__free(idx);
    return st;
}
