/*
 * The minimisation of F(beta) = f(beta) + lambda P(beta): Newton's method
 * (IRLS) for the unpenalised and ridge fits, proximal Newton with the
 * coordinate-descent inner solver for L1 and elastic net, step halving, the
 * convergence tests, and the hand-over to the diagnoses when the Newton
 * system turns singular or the iterates diverge towards separation.
 *
 * Calls: pass.c (loss, gradient, Hessian), penalised.c (penalty value, the
 * CD step), diagnose.c (rank check, separation), design.c (coordinate names).
 */
#include "regression/regression_internal.h"

/* The state of the outer iteration between accepted points. (Whether a
 * point has been accepted yet is it > 0: only the first pass precedes one.) */
typedef struct newton_state {
    double Facc, Fprev_acc;  /* F at the last and the previous accepted point */
    double sprev;            /* the largest change of the previous full step */
    int halvings, last_sep_check, was_cut;
} newton_state;

enum { POINT_ACCEPTED, POINT_HALVED, POINT_STALLED };

int churn__logit_chol(double *A, size_t k)
{
    int n = (int)k, info = 0;
    dpotrf_("U", &n, A, &n, &info, 1);
    return info;
}

static void chol_solve(const double *A, size_t k, double *b)
{
    int n = (int)k, one = 1, info = 0;
    dpotrs_("U", &n, &one, A, &n, b, &n, &info, 1);
}

/* Accept the point just evaluated (F, pr) and save its pass, or, when F
 * increased since the last accepted point (there is one from it > 0 on),
 * halve the last step (POINT_HALVED) or after 50 halvings go back to that
 * point (POINT_STALLED). */
static int accept_or_halve(const logit_design *d, double F, const pass_res *pr, int it,
                           double *beta, logit_ws *ws, newton_state *st, opt_res *res)
{
    size_t k = d->k;
    if (it > 0 && !(F <= st->Facc + 1e-13 * fabs(st->Facc) + 1e-15)) {
        if (++st->halvings <= 50) {
            for (size_t j = 0; j < k; j++) {
                ws->delta[j] *= 0.5;
                beta[j] = ws->bprev[j] + ws->delta[j];
            }
            return POINT_HALVED;
        }
        /* no decrease along a descent direction: bprev is optimal to rounding */
        memcpy(beta, ws->bprev, k * sizeof(double));
        return POINT_STALLED;
    }
    st->was_cut = st->halvings > 0;
    st->halvings = 0;
    st->Fprev_acc = st->Facc;
    st->Facc = F;
    res->last = *pr;
    res->objective = F;
    memcpy(ws->bprev, beta, k * sizeof(double));
    memcpy(ws->Hsave, ws->H, k * k * sizeof(double));
    memcpy(ws->gsave, ws->g, k * sizeof(double));
    return POINT_ACCEPTED;
}

/* max_iter reached: a separation when the last step points to one, else
 * CHURN_ENOCONV. res->last is the pass at the current (accepted) point. */
static int out_of_iterations(const logit_design *d, const fit_spec *s, logit_ws *ws,
                             const char *const *names, opt_res *res, sbuf *note)
{
    if (s->unpenalised && !s->quiet && res->last.extreme > 0) {
        size_t nb = 0;
        if (churn__logit_sep_test(d, ws->dprev, ws, &nb)) {
            res->separated = 1;
            return churn__logit_separation_error(d, s, ws->dprev, nb, names, ws, note);
        }
    }
    return churn__error(CHURN_ENOCONV, "churn_logit_fit: no convergence in %d "
                        "iterations (increase max_iter or the penalty)", s->max_iter);
}

/* The (ridge-)Newton step into ws->delta: solve (H + la2 diag(pf2)) delta =
 * -(g + la2 pf2 beta). A singular system in an unpenalised fit is reported as
 * the separation it usually is, else as singular (res->last.extreme: the rows
 * fitted numerically 0 or 1 at the current point). */
static int newton_direction(const logit_design *d, const fit_spec *s, const double *beta,
                            logit_ws *ws, const char *const *names, opt_res *res, sbuf *note,
                            int it)
{
    size_t k = d->k;
    double la2 = s->lambda * (1 - s->alpha);
    double *Fm = ws->F;
    memcpy(Fm, ws->H, k * k * sizeof(double));
    for (size_t j = 0; j < k; j++)
        ws->delta[j] = -ws->g[j];
    if (la2 > 0)
        for (size_t j = d->off; j < k; j++) {
            Fm[j * k + j] += la2 * d->pf2[j];
            ws->delta[j] -= la2 * d->pf2[j] * beta[j];
        }
    int info = churn__logit_chol(Fm, k);
    if (info != 0) {
        if (!s->unpenalised || s->quiet)
            return churn__error(CHURN_ENUMERIC, "churn_logit_fit: the Newton system "
                                "is not positive definite at iteration %d", it + 1);
        size_t nb = 0;
        if (it > 0 && res->last.extreme > 0 && churn__logit_sep_test(d, ws->dprev, ws, &nb)) {
            res->separated = 1;
            return churn__logit_separation_error(d, s, ws->dprev, nb, names, ws, note);
        }
        return churn__error(CHURN_ENUMERIC, "churn_logit_fit: X'WX became singular at "
                            "iteration %d (fitted probabilities numerically 0 or 1 "
                            "for %zu rows)", it + 1, res->last.extreme);
    }
    chol_solve(Fm, k, ws->delta);
    return CHURN_OK;
}

/* The proximal-Newton step into ws->delta: the minimiser of the penalised
 * quadratic model by coordinate descent, minus beta. */
static void cd_direction(const logit_design *d, const fit_spec *s, const double *beta,
                         logit_ws *ws)
{
    size_t k = d->k;
    memcpy(ws->b, beta, k * sizeof(double));
    churn__logit_cd_quadratic(d, s, ws->g, ws->H, beta, ws->b, ws->u);
    for (size_t j = 0; j < k; j++)
        ws->delta[j] = ws->b[j] - beta[j];
}

/* The largest |delta_j| into *maxstep; an error when a component is not
 * finite. */
static int step_size(const logit_design *d, const logit_ws *ws, const char *const *names, int it,
                     double *maxstep)
{
    double mx = 0;
    for (size_t j = 0; j < d->k; j++) {
        if (!isfinite(ws->delta[j]))
            return churn__error(CHURN_ENUMERIC, "churn_logit_fit: non-finite Newton step for "
                                "'%s' at iteration %d", churn__logit_coord_name(d, names, j),
                                it + 1);
        if (fabs(ws->delta[j]) > mx)
            mx = fabs(ws->delta[j]);
    }
    *maxstep = mx;
    return CHURN_OK;
}

/* Diverging towards separation: the objective has stalled while the
 * coefficients keep moving and some fits are numerically 0 or 1 (F and the
 * pass at the current point: st->Facc, res->last). When the step separates
 * the classes, take it, set res->separated and return what
 * churn__logit_separation_error() says. */
static int separation_along_step(const logit_design *d, const fit_spec *s, double *beta,
                                 double maxstep, logit_ws *ws, const char *const *names,
                                 opt_res *res, sbuf *note, int it, newton_state *st)
{
    double F = st->Facc;
    if (s->unpenalised && !s->quiet && res->last.extreme > 0 && it >= 3 && maxstep >= s->tol &&
        st->Fprev_acc - F < 1e-10 * (F + 0.01) && it - st->last_sep_check >= 5) {
        st->last_sep_check = it;
        size_t nb = 0;
        if (churn__logit_sep_test(d, ws->delta, ws, &nb)) {
            res->separated = 1;
            res->iterations = it + 1;
            for (size_t j = 0; j < d->k; j++)
                beta[j] += ws->delta[j];
            return churn__logit_separation_error(d, s, ws->delta, nb, names, ws, note);
        }
    }
    return CHURN_OK;
}

/* Penalised fits report no standard errors, so they may stop as soon as
 * Newton is seen to converge quadratically (Nocedal & Wright 2006, Thm. 3.5:
 * e_{k+1} <= C e_k^2): with C estimated from the last two full steps, the
 * distance left after this step is about C s^2. Returns whether to stop; then
 * res->last and res->objective are moved to the new beta. */
static int quadratic_stop(const logit_design *d, const fit_spec *s, const double *beta,
                          size_t stride, double maxstep, const newton_state *st, logit_ws *ws,
                          opt_res *res)
{
    size_t k = d->k;
    double sprev = st->sprev;
    if (s->unpenalised || st->was_cut || !(sprev < 1e-2) || !(maxstep < sprev))
        return 0;
    double cq = maxstep / (sprev * sprev);
    if (!(cq <= 10 && (cq > 1 ? cq : 1.0) * maxstep * maxstep < s->tol))
        return 0;
    /* The pass in res->last is at the point before this step, where
     * the smooth gradient is not 0 (it balances the penalty): move
     * the loss along the step by Taylor's theorem, error O(s^3). */
    double gd = 0, dhd = 0;
    for (size_t i = 0; i < k; i++) {
        double hd = 0;
        for (size_t j = 0; j < k; j++)
            hd += ws->Hsave[i * k + j] * ws->delta[j];
        gd += ws->gsave[i] * ws->delta[i];
        dhd += ws->delta[i] * hd;
    }
    if (d->integer_weights) {
        res->last.loss += gd + 0.5 * dhd;
        res->last.nll = res->last.loss * res->last.wsum;
        res->last.llr = -res->last.nll;
    } else {
        /* R's log-likelihood with rounded weights needs the rows */
        churn__logit_pass(d, beta, stride, 0, ws, &res->last);
    }
    res->objective = res->last.loss + churn__logit_penalty_value(d, s, beta);
    return 1;
}

/*
 * Minimise F(beta) = f(beta) + lambda P(beta) from the starting point in
 * `beta` (overwritten with the solution). Newton's method for alpha = 0
 * (ridge) and no penalty; proximal Newton with the CD inner solver for
 * alpha > 0. Step halving when F increases (R's glm.fit does the same for
 * a non-finite or increasing deviance). Converged when the largest change of
 * a standardised coefficient in the last step is below tol; the pass saved
 * in res->last (and ws->Hsave) is at the point the last step started from.
 */
int churn__logit_optimise(const logit_design *d, const fit_spec *s, double *beta, size_t stride,
                          logit_ws *ws, const char *const *names, opt_res *res, sbuf *note)
{
    size_t k = d->k;
    memset(res, 0, sizeof *res);
    newton_state st = {.Facc = INFINITY, .Fprev_acc = INFINITY, .sprev = INFINITY,
                       .last_sep_check = -100};
    int use_cd = s->lambda > 0 && s->alpha > 0;
    pass_res pr;
    for (int it = 0;;) {
        churn__logit_pass(d, beta, stride, WANT_GRAD | WANT_HESS, ws, &pr);
        double F = pr.loss + churn__logit_penalty_value(d, s, beta);
        int point = accept_or_halve(d, F, &pr, it, beta, ws, &st, res);
        if (point == POINT_HALVED)
            continue;
        if (point == POINT_STALLED) {
            res->converged = 1;
            break;
        }
        int rc = CHURN_OK;
        if (it == 0 && s->unpenalised && !s->quiet) {
            rc = churn__logit_rank_check(d, ws->H, names, ws);
            if (rc)
                return rc;
        }
        if (it >= s->max_iter)
            return out_of_iterations(d, s, ws, names, res, note);
        if (use_cd)
            cd_direction(d, s, beta, ws);
        else
            rc = newton_direction(d, s, beta, ws, names, res, note, it);
        /* a separation noted (not an error) ends the fit all the same */
        if (rc || res->separated)
            return rc;
        double maxstep = 0;
        rc = step_size(d, ws, names, it, &maxstep);
        if (rc)
            return rc;
        rc = separation_along_step(d, s, beta, maxstep, ws, names, res, note, it, &st);
        if (rc || res->separated)
            return rc;
        memcpy(ws->dprev, ws->delta, k * sizeof(double));
        for (size_t j = 0; j < k; j++)
            beta[j] += ws->delta[j];
        it++;
        res->iterations = it;
        int done = maxstep < s->tol ||
                   quadratic_stop(d, s, beta, stride, maxstep, &st, ws, res);
        st.sprev = maxstep;
        if (done) {
            res->converged = 1;
            break;
        }
    }
    return CHURN_OK;
}
