/* The shared model handle: accessors, JSON model files, corrupted and newer files. */
#include "core/internal.h"
#include "testutil.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static churn_model *make_model(void)
{
    const char *names[] = {"r", "alpha", "a", "b"};
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn__model_new(&m, CHURN_FAMILY_BGNBD, 4, names), CHURN_OK);
    double p[] = {0.2425945, 4.4136019, 0.7929199, 2.4258881};
    memcpy(m->params, p, sizeof p);
    double cov[16] = {0};
    for (int i = 0; i < 4; i++)
        cov[i * 4 + i] = (i + 1) * 0.01;
    cov[1] = cov[4] = 0.001;
    churn__model_set_cov(m, cov);
    m->loglik = -9582.429;
    m->nobs = 2357;
    m->converged = 1;
    m->iterations = 17;
    m->time_unit = 7;
    double base[] = {0.1, 0.2, 1.0 / 3.0};
    CU_ASSERT_EQUAL(churn__model_set_array(m, "baseline", base, 3), CHURN_OK);
    const char *feat[] = {"age", "sex, \"quoted\""};
    CU_ASSERT_EQUAL(churn__model_set_features(m, feat, 2), CHURN_OK);
    churn__model_set_note(m, "dropped constant column 'x'");
    return m;
}

static void test_accessors(void)
{
    churn_model *m = make_model();
    CU_ASSERT_EQUAL(churn_model_family(m), CHURN_FAMILY_BGNBD);
    CU_ASSERT_STRING_EQUAL(churn_family_name(churn_model_family(m)), "bgnbd");
    CU_ASSERT_EQUAL(churn_model_num_params(m), 4);
    CU_ASSERT_STRING_EQUAL(churn_model_param_name(m, 1), "alpha");
    CU_ASSERT_PTR_NULL(churn_model_param_name(m, 4));
    double v, se;
    CU_ASSERT_EQUAL(churn_model_param(m, "a", &v, &se), CHURN_OK);
    CU_ASSERT_EQUAL(v, 0.7929199);
    CT_CLOSE(se, sqrt(0.03), 1e-15);
    CU_ASSERT_EQUAL(churn_model_param(m, "zeta", &v, NULL), CHURN_ENOTFOUND);
    CU_ASSERT(strstr(churn_last_error_message(), "zeta") != NULL);
    double buf[3];
    CU_ASSERT_EQUAL(churn_model_params(m, buf, 3), CHURN_ERANGE);
    int fam = 0;
    CU_ASSERT_EQUAL(churn_family_from_name("pnbd", &fam), CHURN_OK);
    CU_ASSERT_EQUAL(fam, CHURN_FAMILY_PNBD);
    CU_ASSERT_EQUAL(churn_family_from_name("nope", &fam), CHURN_ENOTFOUND);
    CU_ASSERT_EQUAL(churn__model_check(m, "churn_logit_predict", 1, CHURN_FAMILY_LOGIT),
                    CHURN_EFAMILY);
    CU_ASSERT(strstr(churn_last_error_message(), "bgnbd") != NULL);
    churn_model_free(m);
    churn_model_free(NULL);
}

static void assert_same(const churn_model *a, const churn_model *b)
{
    CU_ASSERT_EQUAL(a->family, b->family);
    CU_ASSERT_EQUAL_FATAL(a->nparams, b->nparams);
    for (size_t i = 0; i < a->nparams; i++) {
        CU_ASSERT_STRING_EQUAL(a->param_names[i], b->param_names[i]);
        CU_ASSERT_EQUAL(a->params[i], b->params[i]); /* bit-exact: 17 digits */
        CU_ASSERT_EQUAL(a->se[i], b->se[i]);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(b->cov);
    CU_ASSERT_EQUAL(memcmp(a->cov, b->cov, 16 * sizeof(double)), 0);
    CU_ASSERT_EQUAL(a->loglik, b->loglik);
    CU_ASSERT_EQUAL(a->nobs, b->nobs);
    CU_ASSERT_EQUAL(a->converged, b->converged);
    CU_ASSERT_EQUAL(a->iterations, b->iterations);
    CU_ASSERT_EQUAL(a->time_unit, b->time_unit);
    CU_ASSERT_EQUAL_FATAL(b->nfeatures, 2);
    CU_ASSERT_STRING_EQUAL(b->feature_names[1], "sex, \"quoted\"");
    size_t len;
    const double *base = churn__model_array(b, "baseline", &len);
    CU_ASSERT_EQUAL_FATAL(len, 3);
    CU_ASSERT_EQUAL(base[2], 1.0 / 3.0);
    CU_ASSERT_STRING_EQUAL(churn_model_note(b), "dropped constant column 'x'");
}

static void test_roundtrip_file(void)
{
    churn_model *m = make_model(), *back = NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/test_model_roundtrip.json", churn_test_tmp_dir());
    CU_ASSERT_EQUAL_FATAL(churn_model_save(m, path), CHURN_OK);
    CU_ASSERT_EQUAL_FATAL(churn_model_load(&back, path), CHURN_OK);
    assert_same(m, back);
    churn_model_free(back);
    remove(path);
    churn_model_free(m);
}

static void test_roundtrip_buffer(void)
{
    churn_model *m = make_model(), *back = NULL;
    size_t need = 0;
    CU_ASSERT_EQUAL(churn_model_save_buffer(m, NULL, 0, &need), CHURN_ERANGE);
    CU_ASSERT(need > 100);
    char *buf = malloc(need);
    CU_ASSERT_EQUAL_FATAL(churn_model_save_buffer(m, buf, need, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(strlen(buf) + 1, need);
    CU_ASSERT_EQUAL_FATAL(churn_model_load_buffer(&back, buf, strlen(buf)), CHURN_OK);
    assert_same(m, back);
    churn_model_free(back);
    /* the size save_buffer reported, NUL included (issue 19 item 7: it said "end of
     * file expected near end of file") */
    back = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_model_load_buffer(&back, buf, need), CHURN_OK);
    assert_same(m, back);
    churn_model_free(back);
    back = NULL;
    /* a NUL before the end is still an error */
    char *two = malloc(need + 1);
    memcpy(two, buf, need);
    two[need] = '\0';
    CU_ASSERT_EQUAL(churn_model_load_buffer(&back, two, need + 1), CHURN_EFORMAT);
    CU_ASSERT_PTR_NULL(back);
    free(two);
    free(buf);
    churn_model_free(m);
}

static void expect_load_error(const char *text, int code, const char *needle)
{
    churn_model *m = (churn_model *)1;
    int rc = churn_model_load_buffer(&m, text, strlen(text));
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_PTR_NULL(m);
    if (needle && !strstr(churn_last_error_message(), needle)) {
        printf("\n  message '%s' lacks '%s'\n", churn_last_error_message(), needle);
        CU_FAIL("error message does not name the problem");
    }
}

static void test_corrupted(void)
{
    expect_load_error("", CHURN_EFORMAT, "JSON");
    expect_load_error("{\"format\":\"libchurn-model\"", CHURN_EFORMAT, "JSON");
    expect_load_error("[1,2,3]", CHURN_EFORMAT, "object");
    expect_load_error("{\"format\":\"other\"}", CHURN_EFORMAT, "format");
    expect_load_error("{\"format\":\"libchurn-model\",\"format_version\":99,\"family\":\"bgnbd\"}",
                      CHURN_EVERSION, "99");
    expect_load_error("{\"format\":\"libchurn-model\",\"format_version\":1,\"family\":\"zzz\"}",
                      CHURN_EFORMAT, "zzz");
    expect_load_error("{\"format\":\"libchurn-model\",\"format_version\":1,\"family\":\"bgnbd\","
                      "\"param_names\":[\"r\",\"alpha\"],\"params\":[1.0],\"std_errors\":[1,1]}",
                      CHURN_EFORMAT, "params");
    expect_load_error("{\"format\":\"libchurn-model\",\"format_version\":1,\"family\":\"bgnbd\","
                      "\"param_names\":[\"r\"],\"params\":[null],\"std_errors\":[null]}",
                      CHURN_EFORMAT, "'r'");
    expect_load_error("{\"format\":\"libchurn-model\",\"format_version\":1,\"family\":\"bgnbd\","
                      "\"param_names\":[\"r\"],\"params\":[\"x\"],\"std_errors\":[1]}",
                      CHURN_EFORMAT, "params");
    expect_load_error("{\"format\":\"libchurn-model\",\"format_version\":1,\"family\":\"bgnbd\","
                      "\"param_names\":[7],\"params\":[1],\"std_errors\":[1]}",
                      CHURN_EFORMAT, "param_names");
    expect_load_error("{\"format\":\"libchurn-model\",\"format_version\":1,\"format\":\"x\"}",
                      CHURN_EFORMAT, "duplicate");
    /* embedded NUL and binary garbage */
    const char garbage[] = "{\"format\":\0\xff\xfe";
    churn_model *m = NULL;
    CU_ASSERT_EQUAL(churn_model_load_buffer(&m, garbage, sizeof garbage), CHURN_EFORMAT);
    CU_ASSERT_EQUAL(churn_model_load(&m, "/nonexistent/dir/model.json"), CHURN_EIO);
    CU_ASSERT(strstr(churn_last_error_message(), "/nonexistent/dir/model.json") != NULL);
    CU_ASSERT_EQUAL(churn_model_load(NULL, "x"), CHURN_EINVAL);
}

static void test_save_errors(void)
{
    churn_model *m = make_model();
    CU_ASSERT_EQUAL(churn_model_save(m, "/nonexistent/dir/model.json"), CHURN_EIO);
    CU_ASSERT(strstr(churn_last_error_message(), "/nonexistent/dir/model.json") != NULL);
    CU_ASSERT_EQUAL(churn_model_save(NULL, "x.json"), CHURN_EINVAL);
    churn_model_free(m);
}

/* Saving never replaces what is not a regular file: /dev/null stays a device (renaming
 * over it would replace the device node), a symbolic link stays a link to the new model;
 * no temporary file is left behind. */
static void test_save_targets(void)
{
    churn_model *m = make_model(), *back = NULL;
    struct stat sb;
    if (stat("/dev/null", &sb) == 0 && S_ISCHR(sb.st_mode)) {
        CU_ASSERT_EQUAL(churn_model_save(m, "/dev/null"), CHURN_OK);
        CU_ASSERT(stat("/dev/null", &sb) == 0 && S_ISCHR(sb.st_mode));
    } else {
        churn_test_skip("save to /dev/null", "/dev/null is not a character device here");
    }
    char dir[1024], target[1100], link_path[1100];
    snprintf(dir, sizeof dir, "%s/test_model_targets", churn_test_tmp_dir());
    mkdir(dir, 0755);
    snprintf(target, sizeof target, "%s/real.json", dir);
    snprintf(link_path, sizeof link_path, "%s/link.json", dir);
    remove(link_path);
    CU_ASSERT_EQUAL(churn_model_save(m, target), CHURN_OK);
    CU_ASSERT_EQUAL(symlink("real.json", link_path), 0);
    m->iterations = 99;
    CU_ASSERT_EQUAL(churn_model_save(m, link_path), CHURN_OK);
    CU_ASSERT(lstat(link_path, &sb) == 0 && S_ISLNK(sb.st_mode));
    CU_ASSERT_EQUAL_FATAL(churn_model_load(&back, target), CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_iterations(back), 99);
    churn_model_free(back);
    DIR *d = opendir(dir);
    int entries = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        entries += e->d_name[0] != '.';
    if (d)
        closedir(d);
    CU_ASSERT_EQUAL(entries, 2); /* real.json and link.json, no temporary */
    remove(link_path);
    remove(target);
    rmdir(dir);
    churn_model_free(m);
}

/* A file written by format version 1 keeps loading in every later release. */
static void test_golden_v1(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/data/models/golden_v1_minimal.json", CHURN_TEST_SOURCE_DIR);
    churn_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(churn_model_load(&m, path), CHURN_OK);
    CU_ASSERT_EQUAL(churn_model_family(m), CHURN_FAMILY_BGNBD);
    double v;
    CU_ASSERT_EQUAL(churn_model_param(m, "b", &v, NULL), CHURN_OK);
    CU_ASSERT_EQUAL(v, 2.4258881);
    CU_ASSERT_EQUAL(churn_model_time_unit(m), 7.0);
    churn_model_free(m);
}

/* The text of a golden file with `from` replaced by `to` (once), or NULL. */
static char *golden_edited(const char *family, const char *from, const char *to)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/data/models/golden_v1_%s.json", CHURN_TEST_SOURCE_DIR, family);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *at = strstr(text, from);
    if (!at)
        return NULL;
    size_t lf = strlen(from), lt = strlen(to);
    char *out = malloc(n - lf + lt + 1);
    size_t pre = (size_t)(at - text);
    memcpy(out, text, pre);
    memcpy(out + pre, to, lt);
    memcpy(out + pre + lt, at + lf, n - pre - lf + 1);
    return out;
}

static void expect_golden_edit(const char *family, const char *from, const char *to,
                               const char *needle1, const char *needle2)
{
    char *text = golden_edited(family, from, to);
    if (!text)
        printf("\n  golden_v1_%s.json has no '%s'", family, from);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    expect_load_error(text, CHURN_EFORMAT, needle1);
    if (needle2)
        expect_load_error(text, CHURN_EFORMAT, needle2);
    free(text);
}

/* Every golden file loads; the loader checks each family's parameters
 * (issue 19, item 2): a file relabelled with another family's name fails at
 * load time, not when it is scored, and so do wrong counts, names and
 * values, with a message that names the field. */
static void test_family_layout(void)
{
    static const char *golden[] = {"bgbb", "bgnbd", "cox", "exponential", "gammagamma",
                                   "logit", "loglogistic", "lognormal", "mbgnbd", "minimal",
                                   "pnbd", "sbg", "weibull"};
    for (size_t i = 0; i < sizeof golden / sizeof golden[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/data/models/golden_v1_%s.json", CHURN_TEST_SOURCE_DIR,
                 golden[i]);
        churn_model *m = NULL;
        int rc = churn_model_load(&m, path);
        if (rc)
            printf("\n  %s: %s", path, churn_last_error_message());
        CU_ASSERT_EQUAL(rc, CHURN_OK);
        churn_model_free(m);
    }
    /* a Cox file relabelled bgnbd (it loaded and failed only when scoring) */
    expect_golden_edit("cox", "\"family\": \"cox\"", "\"family\": \"bgnbd\"",
                       "family 'bgnbd' has 4 parameters (r, alpha, a, b)", "'param_names'");
    expect_golden_edit("cox", "\"family\": \"cox\"", "\"family\": \"gammagamma\"",
                       "family 'gammagamma' has 3 parameters", NULL);
    /* BTYD files under each other's names: same count, other names */
    expect_golden_edit("pnbd", "\"family\": \"pnbd\"", "\"family\": \"bgnbd\"",
                       "param_names[2] is 's'", "parameter 3 of family 'bgnbd' is 'a'");
    expect_golden_edit("bgbb", "\"family\": \"bgbb\"", "\"family\": \"sbg\"",
                       "family 'sbg' has 2 parameters", NULL);
    /* non-positive and non-finite parameters */
    char *t = golden_edited("minimal", "2.4258881", "-1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    expect_load_error(t, CHURN_EFORMAT, "parameter 'b' (params[3]) is -1");
    free(t);
    expect_golden_edit("minimal", "0.2425945", "0", "parameter 'r' (params[0]) is 0", "> 0");
    expect_golden_edit("minimal", "0.2425945", "null", "parameter 'r'", "finite");
    expect_golden_edit("minimal", "0.2425945", "1e999", "1e999", NULL);
    expect_golden_edit("gammagamma", "9.66493507593876", "-9.66493507593876",
                       "parameter 'p' (params[0]) is -9.66", NULL);
    expect_golden_edit("sbg", "0.70407729847632228", "0", "parameter 'alpha'", "> 0");
    /* regression and survival: coefficients agree with the features and arrays */
    expect_golden_edit("logit", "\"features\": [\n  \"a\",\n  \"b\"\n ]",
                       "\"features\": [\n  \"a\"\n ]", "a 'logit' model", "'features'");
    expect_golden_edit("weibull", "\"Log(scale)\"", "\"scale\"", "'Log(scale)'", NULL);
    expect_golden_edit("cox", "\"x_mean\"", "\"x_meanx\"", "arrays.x_mean", NULL);
    expect_golden_edit("cox", "\"baseline_cumhaz\"", "\"baseline_c\"", "arrays.baseline_cumhaz",
                       NULL);
    expect_golden_edit("logit", "\"family\": \"logit\"", "\"family\": \"cox\"",
                       "a 'cox' model has one coefficient per feature", NULL);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"accessors", test_accessors},
        {"file round trip", test_roundtrip_file},
        {"buffer round trip", test_roundtrip_buffer},
        {"corrupted and newer files", test_corrupted},
        {"save errors", test_save_errors},
        {"save keeps devices and links", test_save_targets},
        {"golden v1 file", test_golden_v1},
        {"family layout checked on load", test_family_layout},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("model", tests);
}
