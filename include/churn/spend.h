/**
 * @file churn/spend.h
 */
#ifndef CHURN_SPEND_H
#define CHURN_SPEND_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif /* CHURN_SPEND_H */
