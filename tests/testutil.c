#include "testutil.h"

#include <gsl/gsl_errno.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *churn_test_data_dir(void)
{
    const char *d = getenv("CHURN_SHARED_DATA");
    struct stat st;
    if (!d || !*d || stat(d, &st) != 0 || !S_ISDIR(st.st_mode))
        return NULL;
    return d;
}

const char *churn_test_data_path(const char *relative)
{
    static char buf[4096];
    const char *d = churn_test_data_dir();
    struct stat st;
    if (!d)
        return NULL;
    snprintf(buf, sizeof buf, "%s/%s", d, relative);
    if (stat(buf, &st) != 0)
        return NULL;
    return buf;
}

void churn_test_skip(const char *test, const char *why)
{
    printf("\nSKIP: %s: %s\n", test, why);
}

const char *churn_test_tmp_dir(void)
{
    const char *d = getenv("CHURN_TEST_TMP");
    return (d && *d) ? d : "/tmp";
}

int churn_test_close(double a, double b, double rtol, const char *what, const char *file, int line)
{
    double scale = fabs(b) > 1e-300 ? fabs(b) : 1e-300;
    int ok = isfinite(a) && isfinite(b) && fabs(a - b) <= rtol * scale;
    if (!ok)
        printf("\n  %s:%d: %s = %.17g, expected %.17g (rel. err %.3g > %.3g)\n", file, line, what,
               a, b, fabs(a - b) / scale, rtol);
    return ok;
}

int churn_test_near(double a, double b, double atol, const char *what, const char *file, int line)
{
    int ok = isfinite(a) && isfinite(b) && fabs(a - b) <= atol;
    if (!ok)
        printf("\n  %s:%d: %s = %.17g, expected %.17g (abs. err %.3g > %.3g)\n", file, line, what,
               a, b, fabs(a - b), atol);
    return ok;
}

long churn_test_alloc_countdown = -1;

void *churn_test_failing_alloc(void *ud, void *ptr, size_t nsize)
{
    (void)ud;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    if (churn_test_alloc_countdown == 0)
        return NULL;
    if (churn_test_alloc_countdown > 0)
        churn_test_alloc_countdown--;
    return realloc(ptr, nsize);
}

int churn_test_run(const char *suite, CU_TestInfo *tests)
{
    /* Every test program runs with GSL's default error handler, the one that
     * prints and aborts: the library must never reach a GSL error, nor change
     * the handler (docs/abi.md, "What the library never does to its host"). */
    gsl_set_error_handler(NULL);
    CU_SuiteInfo suites[] = {{(char *)suite, NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        CU_cleanup_registry();
        return 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    return (failed > 0 || run == 0) ? 1 : 0;
}
