/**
 * @file churn/simulate.h
 */
#ifndef CHURN_SIMULATE_H
#define CHURN_SIMULATE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif /* CHURN_SIMULATE_H */
