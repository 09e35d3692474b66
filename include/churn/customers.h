/**
 * @file churn/customers.h
 */
#ifndef CHURN_CUSTOMERS_H
#define CHURN_CUSTOMERS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif /* CHURN_CUSTOMERS_H */
