/**
 * @file churn/logit.h
 */
#ifndef CHURN_LOGIT_H
#define CHURN_LOGIT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif /* CHURN_LOGIT_H */
