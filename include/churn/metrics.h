/**
 * @file churn/metrics.h
 */
#ifndef CHURN_METRICS_H
#define CHURN_METRICS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif /* CHURN_METRICS_H */
