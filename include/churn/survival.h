/**
 * @file churn/survival.h
 */
#ifndef CHURN_SURVIVAL_H
#define CHURN_SURVIVAL_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif /* CHURN_SURVIVAL_H */
