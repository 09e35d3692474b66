/* Status codes, error messages, option structs, allocator hook. */
#include "core/internal.h"
#include "testutil.h"

#include <pthread.h>
#include <stdlib.h>

static void test_version(void)
{
    CU_ASSERT_EQUAL(churn_version_number(), CHURN_VERSION_NUMBER);
    CU_ASSERT_STRING_EQUAL(churn_version_string(), CHURN_VERSION_STRING);
}

static void test_strerror(void)
{
    CU_ASSERT_STRING_EQUAL(churn_strerror(CHURN_OK), "success");
    CU_ASSERT_STRING_EQUAL(churn_strerror(CHURN_ENOMEM), "out of memory");
    CU_ASSERT_STRING_EQUAL(churn_strerror(12345), "unknown error");
    /* frozen values */
    CU_ASSERT_EQUAL(CHURN_EINVAL, -1);
    CU_ASSERT_EQUAL(CHURN_ESEPARATION, -13);
    CU_ASSERT_EQUAL(CHURN_EUNIT, -14);
    CU_ASSERT_STRING_EQUAL(churn_strerror(CHURN_EUNIT), "time units differ");
}

static void *thread_err(void *arg)
{
    churn__error(CHURN_EIO, "thread %d", *(int *)arg);
    return (void *)(intptr_t)(strcmp(churn_last_error_message(), "thread 2") == 0 &&
                              churn_last_error_code() == CHURN_EIO);
}

static void test_thread_local_errors(void)
{
    churn__error(CHURN_EINVAL, "main thread message %d", 1);
    pthread_t th;
    int two = 2;
    void *ok = NULL;
    pthread_create(&th, NULL, thread_err, &two);
    pthread_join(th, &ok);
    CU_ASSERT(ok != NULL);
    CU_ASSERT_STRING_EQUAL(churn_last_error_message(), "main thread message 1");
    CU_ASSERT_EQUAL(churn_last_error_code(), CHURN_EINVAL);
    churn_clear_error();
    CU_ASSERT_STRING_EQUAL(churn_last_error_message(), "");
}

typedef struct opts_v2 {
    size_t struct_size;
    int a;
    double b;
} opts_v2;
typedef struct opts_v3 {
    size_t struct_size;
    int a;
    double b;
    double c;
} opts_v3;

static void test_opts_copy(void)
{
    opts_v2 mine = {sizeof mine, 1, 2.0};
    /* older, shorter struct: only a known -> b keeps default */
    struct {
        size_t struct_size;
        int a;
    } old = {sizeof old, 7};
    CU_ASSERT_EQUAL(churn__opts_copy(&mine, sizeof mine, &old, "opts"), CHURN_OK);
    CU_ASSERT_EQUAL(mine.a, 7);
    CU_ASSERT_EQUAL(mine.b, 2.0);
    /* newer struct with zero tail: accepted */
    opts_v3 newer = {sizeof newer, 3, 4.0, 0.0};
    CU_ASSERT_EQUAL(churn__opts_copy(&mine, sizeof mine, &newer, "opts"), CHURN_OK);
    CU_ASSERT_EQUAL(mine.a, 3);
    CU_ASSERT_EQUAL(mine.b, 4.0);
    /* newer with a set tail: rejected with a message naming the struct */
    newer.c = 1.0;
    CU_ASSERT_EQUAL(churn__opts_copy(&mine, sizeof mine, &newer, "churn_x_options"), CHURN_EINVAL);
    CU_ASSERT(strstr(churn_last_error_message(), "churn_x_options") != NULL);
    /* garbage size */
    size_t tiny = 2;
    CU_ASSERT_EQUAL(churn__opts_copy(&mine, sizeof mine, &tiny, "opts"), CHURN_EINVAL);
    /* NULL = defaults untouched */
    CU_ASSERT_EQUAL(churn__opts_copy(&mine, sizeof mine, NULL, "opts"), CHURN_OK);
    CU_ASSERT_EQUAL(mine.a, 3);
}

static int n_allocs;
static void *counting_alloc(void *ud, void *p, size_t n)
{
    (void)ud;
    if (n == 0) {
        free(p);
        return NULL;
    }
    n_allocs++;
    return realloc(p, n);
}

static void test_allocator_hook(void)
{
    churn_set_allocator(counting_alloc, NULL);
    void *p = churn__malloc(10);
    CU_ASSERT_PTR_NOT_NULL(p);
    churn__free(p);
    CU_ASSERT_EQUAL(n_allocs, 1);
    churn_set_allocator(NULL, NULL);
    p = churn__malloc(10);
    churn__free(p);
    CU_ASSERT_EQUAL(n_allocs, 1);
    CU_ASSERT_EQUAL(churn__mul_size(SIZE_MAX / 2, 3), 0);
}

int main(void)
{
    CU_TestInfo tests[] = {
        {"version", test_version},
        {"strerror", test_strerror},
        {"thread-local errors", test_thread_local_errors},
        {"size-versioned options", test_opts_copy},
        {"allocator hook", test_allocator_hook},
        CU_TEST_INFO_NULL,
    };
    return churn_test_run("common", tests);
}
