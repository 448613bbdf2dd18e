#ifndef NEXUS_CRM_CHIREDIS_SHIM_H
#define NEXUS_CRM_CHIREDIS_SHIM_H

#include <hiredis/hiredis.h>

/* Swift imports `char errstr[128]` as a tuple; hand it over as a C string. */
static inline const char *chiredis_errstr(const redisContext *c) {
    return c->errstr;
}

/* The context's error code (REDIS_ERR_IO, REDIS_ERR_EOF, ...); 0 when healthy. */
static inline int chiredis_err(const redisContext *c) {
    return c->err;
}

#endif
