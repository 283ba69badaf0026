/*
 * Concurrency Kit's ck_epoch: each section stores the global epoch into the
 * reader's record and fences (a full fence on x86, to order that store
 * before the loads of the section); ck_epoch_synchronize waits until every
 * active record has observed the current epoch, advancing it twice.
 */
#include <ck_epoch.h>
#include <stdlib.h>
#include "peers.h"

static ck_epoch_t ck_ep;
static ck_epoch_record_t ck_writer;
static struct peer_cfg *ck_cfg;

static void ck_register(struct peer_reader *r)
{
    ck_epoch_record_t *rec = ck_epoch_recycle(&ck_ep, NULL);

    if (rec == NULL) {
        rec = aligned_alloc(64, (sizeof(*rec) + 63) & ~(size_t)63);
        ck_epoch_register(&ck_ep, rec, NULL);
    }
    r->priv = rec;
}

#define PEER_FLAVOUR_READER ck_reader
#define PEER_REGISTER(r) ck_register(r)
#define PEER_UNREGISTER(r) ck_epoch_unregister((ck_epoch_record_t *)(r)->priv)
#define PEER_READ_BEGIN(p)                                                                         \
    (ck_epoch_begin((ck_epoch_record_t *)(p), NULL),                                               \
     (const struct peer_cfg *)ck_pr_load_ptr(&ck_cfg))
#define PEER_READ_END(p) ck_epoch_end((ck_epoch_record_t *)(p), NULL)
#define PEER_QUIESCENT(p) ((void)(p))
#include "peer_loop.h"

static int ck_init(const struct peer_params *p, struct peer_cfg *first)
{
    static int once;

    (void)p;
    /* Records cannot be freed while the epoch object lives: keep one object, recycle records. */
    if (!once) {
        ck_epoch_init(&ck_ep);
        ck_epoch_register(&ck_ep, &ck_writer, NULL);
        once = 1;
    }
    ck_pr_store_ptr(&ck_cfg, first);
    return 0;
}

static void ck_fini(void)
{
    peer_retire(ck_cfg);
    ck_cfg = NULL;
}

static struct peer_cfg *ck_replace(struct peer_cfg *c)
{
    struct peer_cfg *old = ck_pr_fas_ptr(&ck_cfg, c);

    ck_epoch_synchronize(&ck_writer);
    return old;
}

const struct peer_flavour peer_ck = {"ck_epoch", ck_init, ck_fini, ck_reader, ck_replace};
