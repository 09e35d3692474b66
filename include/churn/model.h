/**
 * @file churn/model.h
 * @brief The fitted-model handle shared by every model family, and model files.
 *
 * One opaque ::churn_model type serves every family: family-specific `fit`
 * functions (btyd.h, spend.h, logit.h, survival.h) create it; family-specific
 * predict functions check the family and fail with ::CHURN_EFAMILY on a
 * mismatch; the accessors, save/load and free below are shared.
 *
 * Threading: a fitted model is immutable. Any number of threads may read and
 * score with one model concurrently; only churn_model_free() needs exclusive
 * access.
 */
#ifndef CHURN_MODEL_H
#define CHURN_MODEL_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque fitted model. @since 1.0 */
typedef struct churn_model churn_model;

/** Model families. Values are frozen; new families are appended. @since 1.0 */
typedef enum churn_family {
    CHURN_FAMILY_BGNBD = 1,       /**< BG/NBD (Fader, Hardie & Lee 2005) */
    CHURN_FAMILY_MBGNBD = 2,      /**< MBG/NBD (Batislam, Denizel & Filiztekin 2007) */
    CHURN_FAMILY_PNBD = 3,        /**< Pareto/NBD (Schmittlein, Morrison & Colombo 1987) */
    CHURN_FAMILY_BGBB = 4,        /**< BG/BB (Fader, Hardie & Shang 2010) */
    CHURN_FAMILY_SBG = 5,         /**< shifted beta-geometric (Fader & Hardie 2007) */
    CHURN_FAMILY_GAMMAGAMMA = 6,  /**< Gamma-Gamma spend model */
    CHURN_FAMILY_LOGIT = 7,       /**< logistic regression */
    CHURN_FAMILY_COX = 8,         /**< Cox proportional hazards */
    CHURN_FAMILY_WEIBULL = 9,     /**< Weibull AFT (R survreg parametrisation) */
    CHURN_FAMILY_EXPONENTIAL = 10,/**< exponential AFT */
    CHURN_FAMILY_LOGLOGISTIC = 11,/**< log-logistic AFT */
    CHURN_FAMILY_LOGNORMAL = 12   /**< log-normal AFT */
} churn_family;

/**
 * Free a model. NULL is a no-op. Not thread-safe with respect to other users
 * of the same model.
 * @since 1.0
 */
CHURN_API void churn_model_free(churn_model *model);

/** The model's ::churn_family value (0 for NULL). @since 1.0 */
CHURN_API int churn_model_family(const churn_model *model);

/**
 * The family's short name as used in model files and by the `churn` command:
 * "bgnbd", "mbgnbd", "pnbd", "bgbb", "sbg", "gammagamma", "logit", "cox",
 * "weibull", "exponential", "loglogistic", "lognormal". Static string; "" for
 * NULL or an unknown family.
 * @since 1.0
 */
CHURN_API const char *churn_family_name(int family);

/**
 * Look up a family by its short name (see churn_family_name()).
 * @param[in]  name    family name, case-sensitive
 * @param[out] family  the ::churn_family value
 * @return ::CHURN_OK, ::CHURN_EINVAL (NULL argument) or ::CHURN_ENOTFOUND
 * @since 1.0
 */
CHURN_API int churn_family_from_name(const char *name, int *family);

/** Number of parameters of the fitted model (0 for NULL). @since 1.0 */
CHURN_API size_t churn_model_num_params(const churn_model *model);

/**
 * Name of parameter `i` ("r", "alpha", "a", "b", "(Intercept)", "age", ...).
 * Owned by the model; NULL when `i` is out of range.
 * @since 1.0
 */
CHURN_API const char *churn_model_param_name(const churn_model *model, size_t i);

/**
 * Copy the parameter estimates (natural scale) into `values`.
 * @param[in]  model
 * @param[out] values  caller buffer of `n` doubles
 * @param[in]  n       must be at least churn_model_num_params()
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_ERANGE (buffer too small)
 * @since 1.0
 */
CHURN_API int churn_model_params(const churn_model *model, double *values, size_t n);

/**
 * Copy the standard errors of the estimates (NaN where the family gives none,
 * e.g. penalised fits) into `se`. Same rules as churn_model_params().
 * @since 1.0
 */
CHURN_API int churn_model_std_errors(const churn_model *model, double *se, size_t n);

/**
 * Copy the estimated covariance matrix of the parameters (row-major,
 * `k*k` doubles for k = churn_model_num_params()) into `cov`.
 * @param[in] n  capacity of `cov` in doubles, at least k*k
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_ERANGE, ::CHURN_EUNSUPPORTED
 *         (the fit produced no covariance)
 * @since 1.0
 */
CHURN_API int churn_model_covariance(const churn_model *model, double *cov, size_t n);

/**
 * Look up one parameter by name.
 * @param[out] value  estimate; may be NULL
 * @param[out] se     standard error; may be NULL
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_ENOTFOUND
 * @since 1.0
 */
CHURN_API int churn_model_param(const churn_model *model, const char *name, double *value,
                                double *se);

/** Maximised log-likelihood (NaN when the family has none or for NULL). @since 1.0 */
CHURN_API double churn_model_loglik(const churn_model *model);

/** Number of (weighted) observations the model was fitted on. @since 1.0 */
CHURN_API double churn_model_nobs(const churn_model *model);

/** 1 when the fit converged, 0 otherwise. @since 1.0 */
CHURN_API int churn_model_converged(const churn_model *model);

/** Number of optimiser iterations used by the fit. @since 1.0 */
CHURN_API int churn_model_iterations(const churn_model *model);

/** Time unit, in days, of the data the model was fitted on (0 when unknown). @since 1.0 */
CHURN_API double churn_model_time_unit(const churn_model *model);

/**
 * Record the time unit, in days, of the data the model was fitted on
 * (7 for weeks). Saved in the model file; lets scoring code check units.
 * @return ::CHURN_OK or ::CHURN_EINVAL (NULL model, unit not finite or < 0)
 * @since 1.0
 */
CHURN_API int churn_model_set_time_unit(churn_model *model, double unit_days);

/**
 * Check that data whose durations are in time units of `unit_days` days may
 * meet `model` (be scored, predicted or evaluated by it): the guard every
 * binding and every path that knows both units calls before it mixes them.
 *
 * Rules:
 *  - the model's unit is known (churn_model_time_unit() > 0): `unit_days`
 *    must equal it (relative difference at most 1e-9), whatever the family;
 *  - the model's unit is unknown (0): BTYD families (BG/NBD, MBG/NBD,
 *    Pareto/NBD, BG/BB, sBG) and survival families, whose parameters are
 *    rates per unit of time, fail; Gamma-Gamma and logistic regression pass
 *    (their inputs need not be durations: the caller owns their unit);
 *  - Gamma-Gamma always passes (spend per purchase has no time unit).
 * Converting on purpose is explicit: churn_btyd_convert_time_unit().
 *
 * @param[in] model      a model of any family
 * @param[in] unit_days  the data's time unit in days (> 0; 0 = unknown)
 * @return ::CHURN_OK; ::CHURN_EUNIT (units differ, or one side unknown where
 *         the family needs it: the message names both units, e.g. "the model
 *         was fitted in weeks (7 days) but the data are in days (1 day)");
 *         ::CHURN_EINVAL (NULL model, `unit_days` negative or not finite)
 * Thread-safe (reads the model only).
 * @since 1.2
 */
CHURN_API int churn_model_check_time_unit(const churn_model *model, double unit_days);

/**
 * Describe a time unit in words for messages: "days (1 day)", "weeks (7
 * days)", "months (30.4375 days)", "quarters (91.3125 days)", "years (365.25
 * days)", "units of 3 days" or "an unknown unit" for 0. Writes at most `cap`
 * bytes including the NUL (truncating).
 * @return the number of characters the full text needs (as snprintf), or 0
 *         when `buf` is NULL with `cap` > 0
 * Thread-safe.
 * @since 1.2
 */
CHURN_API size_t churn_time_unit_describe(double unit_days, char *buf, size_t cap);

/** Number of covariates (regression families; 0 otherwise). @since 1.0 */
CHURN_API size_t churn_model_num_features(const churn_model *model);

/** Name of covariate `i`, owned by the model; NULL when out of range. @since 1.0 */
CHURN_API const char *churn_model_feature_name(const churn_model *model, size_t i);

/**
 * Free-text notes from the fit (dropped constant columns, separation
 * warnings, ...). Owned by the model; "" when there are none. @since 1.0
 */
CHURN_API const char *churn_model_note(const churn_model *model);

/** Newest model-file format version this library reads and writes. It writes
 * version 2 only for models that need it (BTYD models with covariates,
 * covariates.h) and version 1 for every other model, so older libraries keep
 * reading those. @since 1.0 (2 since 1.3) */
#define CHURN_MODEL_FORMAT_VERSION 2

/**
 * Save a model as a human-readable JSON file (format documented in
 * docs/model-format.md). A regular file (or a new one) is written to a
 * temporary file in the same directory, synced and renamed, so a failure never
 * leaves a half-written file under `path`. A device, pipe or socket (e.g.
 * /dev/null) and a symbolic link are written directly, never replaced.
 * Thread-safe (distinct paths; two threads saving to one path leave one of the
 * two complete files).
 * @return ::CHURN_OK, ::CHURN_EINVAL, ::CHURN_EIO, ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_model_save(const churn_model *model, const char *path);

/**
 * Serialise a model to JSON text in a caller buffer.
 * @param[out] buf     destination, may be NULL when `cap` is 0
 * @param[in]  cap     capacity of `buf` in bytes
 * @param[out] needed  bytes needed including the terminating NUL (may be NULL)
 * @return ::CHURN_OK, or ::CHURN_ERANGE when `cap` < needed (nothing usable in buf)
 * @since 1.0
 */
CHURN_API int churn_model_save_buffer(const churn_model *model, char *buf, size_t cap,
                                      size_t *needed);

/**
 * Load a model file written by any libchurn binding or the `churn` command.
 * @param[out] out   the new model; NULL on failure
 * @param[in]  path
 * @return ::CHURN_OK, ::CHURN_EIO (cannot read), ::CHURN_EFORMAT (not a valid
 *         model file; the message names the offending field),
 *         ::CHURN_EVERSION (written by a newer format version), ::CHURN_ENOMEM
 * @since 1.0
 */
CHURN_API int churn_model_load(churn_model **out, const char *path);

/**
 * Load a model from JSON text of `len` bytes (need not be NUL-terminated;
 * one NUL as the last of the `len` bytes is the text's end, so the size
 * churn_model_save_buffer() reports, which counts it, may be passed).
 * Same errors as churn_model_load() except ::CHURN_EIO.
 * @since 1.0
 */
CHURN_API int churn_model_load_buffer(churn_model **out, const char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* CHURN_MODEL_H */
