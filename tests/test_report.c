/* The HTML page of the retention report (report.h, issue 25): the size protocol, the
 * argument checks naming the row and field, escaping, the two lists against their
 * definitions on a hand-made table, and the totals. The page in a browser (Chromium),
 * HTML5 validity and the command's page are checked in tests/cli/test_report_html.py. */
#include "churn.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define N 8
static const char *ids[N] = {"a1", "a2", "a3", "a4", "w1", "w2", "w3", "<x&\"y'>"};
static const char *alerts[N] = {"overdue", NULL, "overdue;spend_down", NULL,
                                "p_alive_low", NULL, "p_alive_low;<b>", NULL};
/* save now (p_alive >= 0.5): a1..a4; win back: w1..w3 and the hostile id */
static double pa[N] = {0.9, 0.5, 0.7, 0.99, 0.1, 0.49, 0.0, 0.3};
static double clv[N] = {90, 50, 70, 99, 10, 49, 0, 30};
static double var[N] = {10, 50, 30, 1, 90, 51, 20, 70};
/* value if active = clv + var: w1 100, w2 100, w3 20, hostile 100: ties keep input order */
static int tier[N] = {1, 2, 1, 1, 3, 2, 3, 2};
static double rec[N] = {5, 1, 4, 9, 1, 2, 0, 3};
static double T[N] = {10, 10, 10, 10, 10, 10, 10, 10};

static void page_of(churn_report_page *pg)
{
    churn_report_page_init(pg);
    pg->n = N, pg->customer_id = ids, pg->alerts = alerts, pg->p_alive = pa, pg->clv = clv;
    pg->value_at_risk = var, pg->tier = tier, pg->recency = rec, pg->T = T;
    pg->title = "Report <for> \"Q3\"";
}

/* The page, or NULL (the test fails). */
static char *render(const churn_report_page *pg)
{
    size_t len = 0;
    CU_ASSERT_EQUAL_FATAL(churn_report_html(pg, NULL, 0, &len), CHURN_OK);
    char *buf = malloc(len + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    size_t len2 = 0;
    CU_ASSERT_EQUAL(churn_report_html(pg, buf, len + 1, &len2), CHURN_OK);
    CU_ASSERT_EQUAL(len2, len);
    CU_ASSERT_EQUAL(strlen(buf), len);
    return buf;
}

static void test_size_protocol(void)
{
    churn_report_page pg;
    page_of(&pg);
    size_t len = 0;
    CU_ASSERT_EQUAL(churn_report_html(&pg, NULL, 0, &len), CHURN_OK);
    CU_ASSERT(len > 1000);
    char small[16] = "untouched";
    size_t len2 = 0;
    CU_ASSERT_EQUAL(churn_report_html(&pg, small, sizeof small, &len2), CHURN_ERANGE);
    CU_ASSERT_EQUAL(len2, len);
    CU_ASSERT_STRING_EQUAL(small, "untouched");
    char *buf = malloc(len + 1);
    CU_ASSERT_EQUAL(churn_report_html(&pg, buf, len, &len2), CHURN_ERANGE); /* no room: NUL */
    CU_ASSERT_EQUAL(churn_report_html(&pg, buf, len + 1, &len2), CHURN_OK);
    CU_ASSERT(strncmp(buf, "<!DOCTYPE html>", 15) == 0);
    free(buf);
}

static void test_errors(void)
{
    churn_report_page pg;
    size_t len;
    CU_ASSERT_EQUAL(churn_report_html(NULL, NULL, 0, &len), CHURN_EINVAL);
    page_of(&pg);
    CU_ASSERT_EQUAL(churn_report_html(&pg, NULL, 0, NULL), CHURN_EINVAL);
    pg.n = 0;
    CU_ASSERT_EQUAL(churn_report_html(&pg, NULL, 0, &len), CHURN_EINVAL);
    page_of(&pg);
    pg.clv = NULL;
    CU_ASSERT_EQUAL(churn_report_html(&pg, NULL, 0, &len), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "clv") != NULL);
    page_of(&pg);
    double bad[N];
    memcpy(bad, pa, sizeof bad);
    bad[5] = 1.5;
    pg.p_alive = bad;
    CU_ASSERT_EQUAL(churn_report_html(&pg, NULL, 0, &len), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 5") != NULL);
    CU_ASSERT(strstr(churn_last_error_message(), "p_alive") != NULL);
    page_of(&pg);
    int badt[N];
    memcpy(badt, tier, sizeof badt);
    badt[2] = 0;
    pg.tier = badt;
    CU_ASSERT_EQUAL(churn_report_html(&pg, NULL, 0, &len), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 2") != NULL);
    page_of(&pg);
    pg.alive_threshold = 1;
    CU_ASSERT_EQUAL(churn_report_html(&pg, NULL, 0, &len), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "alive_threshold") != NULL);
    page_of(&pg);
    pg.T = NULL;
    CU_ASSERT_EQUAL(churn_report_html(&pg, NULL, 0, &len), CHURN_EINVAL);
    page_of(&pg);
    double badr[N];
    memcpy(badr, rec, sizeof badr);
    badr[3] = 11; /* recency > T */
    pg.recency = badr;
    CU_ASSERT_EQUAL(churn_report_html(&pg, NULL, 0, &len), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "row 3") != NULL);
    page_of(&pg);
    pg.struct_size = 4; /* shorter than its first field */
    CU_ASSERT_EQUAL(churn_report_html(&pg, NULL, 0, &len), CHURN_EINVAL);
}

/* Every caller text is escaped; nothing the caller wrote appears raw. */
static void test_escaping(void)
{
    churn_report_page pg;
    page_of(&pg);
    char *h = render(&pg);
    CU_ASSERT(strstr(h, "&lt;x&amp;&quot;y&#39;&gt;") != NULL);
    CU_ASSERT(strstr(h, "<x&") == NULL);
    CU_ASSERT(strstr(h, "<title>Report &lt;for&gt; &quot;Q3&quot;</title>") != NULL);
    CU_ASSERT(strstr(h, "p_alive_low, &lt;b&gt;") != NULL);
    CU_ASSERT(strstr(h, "<b>") == NULL);
    CU_ASSERT(strstr(h, "http") == NULL); /* no URL at all */
    CU_ASSERT(strstr(h, "<script") == NULL);
    free(h);
}

/* Position of `<td>id</td>` in the page after `from`, or SIZE_MAX. */
static size_t pos_of(const char *h, const char *from, const char *id)
{
    char pat[64];
    snprintf(pat, sizeof pat, "<td>%s</td>", id);
    const char *p = strstr(from, pat);
    return p ? (size_t)(p - h) : (size_t)-1;
}

/* Save now: a2 (var 50), a3 (30), a1 (10), a4 (1); win back by clv + var: w1 (100), w2
 * (100), the hostile id (100) in input order, then w3 (20). No member of one list in the
 * other. */
static void test_lists(void)
{
    churn_report_page pg;
    page_of(&pg);
    char *h = render(&pg);
    const char *save = strstr(h, "<section id=\"save-now\">");
    const char *win = strstr(h, "<section id=\"win-back\">");
    const char *tiers = strstr(h, "<section id=\"tiers\">");
    CU_ASSERT_PTR_NOT_NULL_FATAL(save);
    CU_ASSERT_PTR_NOT_NULL_FATAL(win);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tiers);
    size_t s = (size_t)(save - h), w = (size_t)(win - h), t = (size_t)(tiers - h);
    const char *save_order[4] = {"a2", "a3", "a1", "a4"};
    const char *win_order[4] = {"w1", "w2", "&lt;x&amp;&quot;y&#39;&gt;", "w3"};
    size_t prev = s;
    for (int k = 0; k < 4; k++) {
        size_t p = pos_of(h, save, save_order[k]);
        CU_ASSERT(p > prev && p < w);
        prev = p;
    }
    prev = w;
    for (int k = 0; k < 4; k++) {
        size_t p = pos_of(h, win, win_order[k]);
        CU_ASSERT(p > prev && p < t);
        prev = p;
    }
    CU_ASSERT(strstr(h, "4 customers with P(alive) &ge; 0.5; expected loss 91.00") != NULL);
    CU_ASSERT(strstr(h, "4 customers with P(alive) &lt; 0.5; worth 320.00") != NULL);
    /* totals over every customer */
    CU_ASSERT(strstr(h, "<dd id=\"total-clv\">398.00 amount units</dd>") != NULL);
    CU_ASSERT(strstr(h, "<dd id=\"total-value-at-risk\">322.00 amount units</dd>") != NULL);
    free(h);
    /* top = 2: the first two of each list only; a threshold of 0.2 moves w2 and the
     * hostile id (0.49, 0.3) into save now */
    page_of(&pg);
    pg.top = 2;
    pg.alive_threshold = 0.2;
    h = render(&pg);
    save = strstr(h, "<section id=\"save-now\">");
    win = strstr(h, "<section id=\"win-back\">");
    CU_ASSERT(strstr(h, "6 customers with P(alive) &ge; 0.2") != NULL);
    CU_ASSERT(pos_of(h, save, "&lt;x&amp;&quot;y&#39;&gt;") < (size_t)(win - h)); /* var 70 */
    CU_ASSERT(pos_of(h, save, "w2") < (size_t)(win - h));                       /* var 51 */
    CU_ASSERT(pos_of(h, save, "a2") > (size_t)(win - h)); /* 3rd: not shown in save now */
    CU_ASSERT(pos_of(h, win, "w1") != (size_t)-1);
    free(h);
}

/* The Kaplan-Meier curves of the page, worked out by hand. Lost = P(alive) below 0.5, at
 * the last purchase (recency); the rest censored at T = 10. The plot maps t in [0, 10] to
 * x = 70 + 55 t and S in [0, 1] to y = 240 - 220 S.
 *  - key (a1, a3, a4): all censored: S = 1 throughout;
 *  - important (a2 censored at 10, w2 lost at 2, hostile lost at 3): S(2) = 2/3,
 *    S(3) = 2/3 * 1/2 = 1/3 (y 93.3, 166.7);
 *  - ordinary (w1 lost at 1, w3 lost at 0): S(0) = 1/2, S(1) = 0 (y 130, 240). */
static void test_km_curves(void)
{
    churn_report_page pg;
    page_of(&pg);
    char *h = render(&pg);
    CU_ASSERT(strstr(h, "d=\"M70.0 20.0 H620.0 V20.0 H620.0\"><title>key tier") != NULL);
    CU_ASSERT(strstr(h, "d=\"M70.0 20.0 H180.0 V93.3 H235.0 V166.7 H620.0 V166.7 H620.0\">"
                        "<title>important tier") != NULL);
    CU_ASSERT(strstr(h, "d=\"M70.0 20.0 H70.0 V130.0 H125.0 V240.0 H125.0\"><title>ordinary "
                        "tier") != NULL);
    CU_ASSERT(strstr(h, "weeks since the first purchase") != NULL);
    CU_ASSERT(strstr(h, "key tier (3 customers)") != NULL);
    free(h);
}

/* Through a failing allocator every failure is CHURN_ENOMEM, never a crash or a leak
 * (test_reliability repeats it for every allocation). */
static void test_no_memory(void)
{
    churn_report_page pg;
    page_of(&pg);
    size_t len;
    CU_ASSERT_EQUAL(churn_set_allocator(churn_test_failing_alloc, NULL), CHURN_OK);
    churn_test_alloc_countdown = 0;
    CU_ASSERT_EQUAL(churn_report_html(&pg, NULL, 0, &len), CHURN_ENOMEM);
    churn_test_alloc_countdown = -1;
    CU_ASSERT_EQUAL(churn_set_allocator(NULL, NULL), CHURN_OK);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"size query, ERANGE leaves the buffer", test_size_protocol},
        {"errors name the row and field", test_errors},
        {"every caller text is escaped", test_escaping},
        {"save now and win back by their definitions; totals", test_lists},
        {"Kaplan-Meier curves by tier, by hand", test_km_curves},
        {"out of memory", test_no_memory},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("report", tests);
}
