/* Shared helpers for the CUnit test programs. */
#ifndef CHURN_TESTUTIL_H
#define CHURN_TESTUTIL_H

#include <CUnit/Basic.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>

/* Folder of the reference data (../shared/data), or NULL when absent. Tests
 * that need it call churn_test_skip() with a message when this is NULL. */
const char *churn_test_data_dir(void);
/* Full path of a file under the reference data folder, in a static buffer
 * (one per call site is enough: copy it if you need two at once), or NULL
 * when the data folder or the file is absent. */
const char *churn_test_data_path(const char *relative);
/* Print "SKIP: <why>" so the skip shows in the test log. */
void churn_test_skip(const char *test, const char *why);
/* Folder for temporary files written by tests (the build dir). */
const char *churn_test_tmp_dir(void);

/* |a - b| <= rtol * max(|b|, tiny). Prints both values when it fails. */
int churn_test_close(double a, double b, double rtol, const char *what, const char *file, int line);
#define CT_CLOSE(a, b, rtol) CU_ASSERT(churn_test_close((a), (b), (rtol), #a, __FILE__, __LINE__))
/* |a - b| <= atol. */
int churn_test_near(double a, double b, double atol, const char *what, const char *file, int line);
#define CT_NEAR(a, b, atol) CU_ASSERT(churn_test_near((a), (b), (atol), #a, __FILE__, __LINE__))

/* An allocator for churn_set_allocator() that fails once the countdown
 * reaches 0: set churn_test_alloc_countdown to k to let k allocations
 * succeed first, -1 (the default) to never fail. */
extern long churn_test_alloc_countdown;
void *churn_test_failing_alloc(void *ud, void *ptr, size_t nsize);

/* Register `tests` (NULL-terminated CU_TestInfo array) as one suite named
 * `suite`, run them verbosely and return the number of failures (the exit
 * status of main). */
int churn_test_run(const char *suite, CU_TestInfo *tests);

#endif
