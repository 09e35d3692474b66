/**
 * @file churn.h
 * @brief libchurn umbrella header: churn scores and customer lifetime value
 *        from purchase histories.
 *
 * Include this one header; it pulls in every module:
 *  - churn/common.h     versions, status codes, errors, allocator, options
 *  - churn/txlog.h      transaction logs, CSV reader, dates
 *  - churn/simulate.h   purchase histories from known processes
 *  - churn/customers.h  the customer table: features as of a cutoff, labels
 *  - churn/model.h      the fitted-model handle and model files
 *  - churn/btyd.h       BG/NBD, MBG/NBD, Pareto/NBD, BG/BB, sBG
 *  - churn/spend.h      Gamma-Gamma spend, CLV, value at risk, tiers, alerts
 *  - churn/logit.h      logistic-regression churn model
 *  - churn/survival.h   Kaplan-Meier, Cox PH, parametric AFT, concordance
 *  - churn/metrics.h    AUC, log loss, Brier, lift, calibration, holdout checks
 *  - churn/covariates.h BTYD models with static customer covariates
 */
#ifndef CHURN_H
#define CHURN_H

#include "churn/common.h"
#include "churn/txlog.h"
#include "churn/model.h"
#include "churn/simulate.h"
#include "churn/customers.h"
#include "churn/btyd.h"
#include "churn/spend.h"
#include "churn/logit.h"
#include "churn/survival.h"
#include "churn/metrics.h"
#include "churn/covariates.h"

#endif /* CHURN_H */
