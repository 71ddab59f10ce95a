/* CTC's loss and gradient by the forward-backward algorithm, for a whole batch, for
 * lossviz.train.heads._CTC.
 *
 * The numpy version (lossviz.train.heads._ctc_numpy) loops over time steps in Python with a handful of
 * array calls per step; at teaching sizes (a few steps, a few states) those calls cost more than the
 * arithmetic. This kernel runs the same algorithm in plain C loops; the numpy version stays as the
 * fallback where the extension could not be built, and as the reference the tests hold it to.
 *
 *   extended labels l' (S_b = 2 L_b + 1 states for a target of L_b labels: a blank between and around
 *   them), skip(s) = s >= 2 and l'_s != blank and l'_s != l'_{s-2};
 *   emissions e_t(s) = p_t(l'_s), the softmax of the logits; where the working precision's p is below
 *   1e-30 (float32 underflows there, and a zero would cut every path) it is recomputed in float64 as
 *   exp(x_t(l'_s) - m_t) / s_t from the softmax's row maximum m_t and row sum s_t; 0 on the padding
 *   states s > 2 L_b of a target shorter than the batch's longest;
 *   alpha_0(s) = e_0(s) for s < 2, else 0;
 *   alpha_t(s) = (alpha_{t-1}(s) + alpha_{t-1}(s-1) + skip(s) alpha_{t-1}(s-2)) e_t(s), each step
 *   divided by its sum c_t (Rabiner's scaling);
 *   log p = sum_t log c_t + log(alpha_{T-1}(2L) + alpha_{T-1}(2L-1));
 *   beta_{T-1}(s) = [s is a final state], beta_t(s) = q(s) + q(s+1) + skip(s+2) q(s+2) with
 *   q = beta_{t+1} e_{t+1}, each step divided by its sum;
 *   occupancy_t(s) = alpha_t(s) beta_t(s) / sum_s alpha_t(s) beta_t(s);
 *   dL/dx_t(c) = p_t(c) - sum_{s: l'_s = c} occupancy_t(s), with L = -log p.
 *
 * Arrays, C order, native byte order (checked here: dtype, size, contiguity):
 *   x      (B, T, C) float32 or float64   the logits
 *   m, s   (B T,) or (B T, 1), x's dtype   the softmax's row maxima and row sums of exp(x - m)
 *   labels (B, L) int64    class indices, padded at the end with -1 (CTCLossLayer.check validated them;
 *                          checked again here)
 *   grad   (B, T, C) float64: the softmax p on entry, dL/dx on return
 *   log_p  (B,) float64, written; NaN for an example the scaled arithmetic cannot carry (an emission it
 *          needs, a step's sum or an occupancy normaliser below the smallest normal float64: logits about
 *          708 apart, or a loss above about 700 nats on confident blanks); the caller recomputes those in
 *          log space
 * The work is laid out state-major with the batch innermost ((T, S, B) scratch), so that every loop
 * over examples is a contiguous, vectorizable loop.
 * The GIL is released while the loops run.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TINY 1e-30
#define FLUSH 1e-100   /* the scales' product is kept within [FLUSH^2, 1] */

typedef struct {
    Py_ssize_t B, T, C, L, S;
    int64_t blank;
    int is64;                 /* x, m, s are float64 (else float32) */
    const void *x, *m, *s;
    const int64_t *labels;
    double *grad, *log_p;
    /* scratch, state-major with the batch innermost so that every loop over examples vectorizes */
    double *alpha, *emit;     /* (T, S, B) */
    double *beta, *q, *skip;  /* (S + 2, B) each: two trailing zero rows for the backward shifts */
    double *scale;            /* (T, B): 1 / c_t, the inverse of step t's sum of alpha */
    double *sums, *product;   /* (B) */
    int64_t *ext;             /* (S, B) */
    int64_t *last;            /* (B): 2 L_b, the example's last state */
    unsigned char *imprecise; /* (B): an emission the example needs is subnormal (a few bits at most) */
} Problem;

static inline double at(const void *a, int is64, Py_ssize_t i)
{
    return is64 ? ((const double *)a)[i] : (double)((const float *)a)[i];
}

/* the extended labels, the skips, the final states (in beta) and the emissions (read from p, which the
   gradient holds on entry; 0 on the padding states past an example's last one, which no path visits:
   the blank they would emit would otherwise draw probability into them, shrinking the final states'
   share of each step's scaled sum until it underflows on a long sequence) */
static void setup(Problem *P)
{
    const Py_ssize_t B = P->B, T = P->T, C = P->C, S = P->S, L = P->L;
    Py_ssize_t b, s, t;
    int64_t shortest = S;
    for (s = 0; s < S + 2; s++)
        for (b = 0; b < B; b++) P->skip[s * B + b] = P->beta[s * B + b] = P->q[s * B + b] = 0.0;
    for (b = 0; b < B; b++) {
        const int64_t *lab = P->labels + b * L;
        Py_ssize_t n = 0;
        while (n < L && lab[n] >= 0) n++;
        P->last[b] = 2 * n;
        P->imprecise[b] = 0;
        P->beta[2 * n * B + b] = 1.0;
        if (n > 0) P->beta[(2 * n - 1) * B + b] = 1.0;
        for (s = 0; s < S; s++) {
            int64_t l = s % 2 ? lab[s / 2] : -1;
            P->ext[s * B + b] = l >= 0 ? l : P->blank;
            if (s >= 2 && l >= 0 && l != P->ext[(s - 2) * B + b]) P->skip[s * B + b] = 1.0;
        }
    }
    for (b = 0; b < B; b++) shortest = P->last[b] < shortest ? P->last[b] : shortest;
    for (s = 0; s < S; s++) {
        const int64_t *ext = P->ext + s * B;
        const int padding = s > shortest;  /* some example has no state s */
        for (t = 0; t < T; t++) {
            double *emit = P->emit + (t * S + s) * B;
            for (b = 0; b < B; b++) {
                const Py_ssize_t row = b * T + t, i = row * C + ext[b];
                double e = P->grad[i];
                if (e < TINY) {
                    e = exp(at(P->x, P->is64, i) - at(P->m, P->is64, row)) / at(P->s, P->is64, row);
                    if (e < DBL_MIN && s <= P->last[b]) P->imprecise[b] = 1;
                }
                emit[b] = padding && s > P->last[b] ? 0.0 : e;
            }
        }
    }
}

/* alpha, and log p into log_p. Step t is computed from step t - 1 divided by its sum c_{t-1} (the
   division folded into the recursion, so alpha_t is stored as c_t times the scaled variable: the
   occupancies do not depend on a step's scale). log p = sum_t log c_t + log(final alpha), the log of
   the scales' product taken only when a product or a scale falls below 1e-100, and at the end. */
static void forward(Problem *P)
{
    const Py_ssize_t B = P->B, T = P->T, S = P->S;
    double *sums = P->sums, *product = P->product;
    Py_ssize_t b, s, t;
    for (b = 0; b < B; b++) {
        product[b] = 1.0;
        P->log_p[b] = 0.0;
    }
    for (t = 0; t < T; t++) {
        double *a = P->alpha + t * S * B, low = 1.0, *inv = P->scale + t * B;
        const double *e = P->emit + t * S * B, *previnv = t ? inv - B : inv;
        for (b = 0; b < B; b++) sums[b] = 0.0;
        for (s = 0; s < S; s++) {
            double *as = a + s * B;
            const double *es = e + s * B, *p0 = t ? as - S * B : as, *k = P->skip + s * B;
            if (t == 0) {
                for (b = 0; b < B; b++) as[b] = s < 2 ? es[b] : 0.0;
            } else if (s == 0) {
                for (b = 0; b < B; b++) as[b] = p0[b] * previnv[b] * es[b];
            } else if (s == 1) {
                for (b = 0; b < B; b++) as[b] = (p0[b] + p0[b - B]) * previnv[b] * es[b];
            } else {
                for (b = 0; b < B; b++)
                    as[b] = (p0[b] + p0[b - B] + k[b] * p0[b - 2 * B]) * previnv[b] * es[b];
            }
            for (b = 0; b < B; b++) sums[b] += as[b];
        }
        for (b = 0; b < B; b++) {
            inv[b] = 1.0 / sums[b];
            P->imprecise[b] |= !(sums[b] >= DBL_MIN);  /* 0, subnormal or NaN: 1 / sums would overflow */
        }
        if (t == T - 1) break;
        /* product *= sums, unless one of them is below FLUSH: then the logs of both go to log p. (A
           step's sum is at most 1, up to rounding: the states s, s + 1 and s + 2 that a state feeds emit
           different classes, and the padding states emit nothing; so the product only falls.) */
        for (b = 0; b < B; b++) {
            low = sums[b] < low ? sums[b] : low;
            low = product[b] < low ? product[b] : low;
        }
        if (low < FLUSH) {
            for (b = 0; b < B; b++) {
                P->log_p[b] += log(product[b]) + log(sums[b]);
                product[b] = 1.0;
            }
        } else {
            for (b = 0; b < B; b++) product[b] *= sums[b];
        }
    }
    {
        const double *last = P->alpha + (T - 1) * S * B;
        for (b = 0; b < B; b++) sums[b] = 0.0;
        for (s = 0; s < S; s++)  /* the final states 2L and 2L - 1, which setup marked in beta */
            for (b = 0; b < B; b++) sums[b] += P->beta[s * B + b] * last[s * B + b];
        for (b = 0; b < B; b++) {
            const double f = product[b] * sums[b];
            P->log_p[b] += f > FLUSH * FLUSH ? log(f) : log(product[b]) + log(sums[b]);
        }
    }
}

/* beta backwards from the final states (which setup put in P->beta), each step computed from the one
   after it divided by its sum (kept in inv), and the occupancies alpha beta / sum_s alpha beta subtracted from the
   gradient at their classes */
static void backward(Problem *P)
{
    const Py_ssize_t B = P->B, T = P->T, C = P->C, S = P->S;
    double *beta = P->beta, *q = P->q, *sums = P->sums, *inv = P->product;
    Py_ssize_t b, s, t;
    for (b = 0; b < B; b++) inv[b] = 1.0;
    for (t = T - 1; t >= 0; t--) {
        const double *a = P->alpha + t * S * B, *ascale = P->scale + t * B;
        if (t < T - 1) {
            const double *e = P->emit + (t + 1) * S * B;
            for (s = 0; s < S; s++)
                for (b = 0; b < B; b++) q[s * B + b] = beta[s * B + b] * inv[b] * e[s * B + b];
            for (b = 0; b < B; b++) sums[b] = 0.0;
            for (s = 0; s < S; s++) {
                const double *q0 = q + s * B, *k = P->skip + (s + 2) * B;
                double *bs = beta + s * B;
                for (b = 0; b < B; b++) {
                    bs[b] = q0[b] + q0[b + B] + k[b] * q0[b + 2 * B];
                    sums[b] += bs[b];
                }
            }
            for (b = 0; b < B; b++) {
                inv[b] = 1.0 / sums[b];
                P->imprecise[b] |= !(sums[b] >= DBL_MIN);
            }
        }
        /* occupancies: q (free again) holds alpha beta, each scaled to sum 1 (unscaled, their products
           could underflow in every state), sums their sum over states */
        for (b = 0; b < B; b++) sums[b] = 0.0;
        for (s = 0; s < S; s++)
            for (b = 0; b < B; b++) {
                q[s * B + b] = (a[s * B + b] * ascale[b]) * (beta[s * B + b] * inv[b]);
                sums[b] += q[s * B + b];
            }
        for (b = 0; b < B; b++) {
            P->imprecise[b] |= !(sums[b] >= DBL_MIN);
            sums[b] = 1.0 / sums[b];
        }
        for (s = 0; s < S; s++) {
            const int64_t *ext = P->ext + s * B;
            const double *qs = q + s * B;
            for (b = 0; b < B; b++) P->grad[(b * T + t) * C + ext[b]] -= qs[b] * sums[b];
        }
    }
    for (b = 0; b < B; b++)
        if (P->imprecise[b]) P->log_p[b] = NAN;  /* the caller recomputes these examples in log space */
}

/* a C-contiguous buffer of `items` elements of one of the item kinds in `kinds` ('f', 'd', 'q'); 0 and
   an exception if not. The kind found goes to *kind. */
static int get_array(PyObject *obj, Py_buffer *view, const char *name, const char *kinds, Py_ssize_t items,
                     int writable, char *kind)
{
    const char *format;
    char k;
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return 0;
    format = view->format ? view->format : "B";
    if (*format == '@' || *format == '=' || (*format == '<' && PY_LITTLE_ENDIAN) ||
        (*format == '>' && !PY_LITTLE_ENDIAN))
        format++;
    k = format[0];
    if ((k == 'l' || k == 'q') && view->itemsize == 8) k = 'q';
    if (format[0] == 0 || format[1] != 0 || !strchr(kinds, k) || view->len != items * view->itemsize) {
        PyErr_Format(PyExc_ValueError, "_ctc.loss_and_gradient: %s must be a C-contiguous array of %zd items "
                     "of kind '%s', got format '%s' and %zd bytes", name, items, kinds,
                     view->format ? view->format : "B", view->len);
        PyBuffer_Release(view);
        return 0;
    }
    *kind = k;
    return 1;
}

static PyObject *loss_and_gradient(PyObject *self, PyObject *args)
{
    PyObject *ox, *om, *os, *olabels, *ograd, *olog_p;
    Py_buffer vx, vm, vs, vlabels, vgrad, vlog_p;
    Py_buffer *views[6] = {&vx, &vm, &vs, &vlabels, &vgrad, &vlog_p};
    Py_ssize_t B, T, C, L, b;
    long long blank;
    int got = 0, i, ok = 0;
    char kx, km, ks, kq;
    Problem P;
    (void)self;

    if (!PyArg_ParseTuple(args, "OOOOLnnnnOO", &ox, &om, &os, &olabels, &blank, &B, &T, &C, &L, &ograd,
                          &olog_p))
        return NULL;
    if (B < 0 || T < 1 || C < 2 || L < 0 || blank < 0 || blank >= C) {
        PyErr_Format(PyExc_ValueError, "_ctc.loss_and_gradient: needs B >= 0, T >= 1, C >= 2, L >= 0 and "
                     "0 <= blank < C, got B=%zd, T=%zd, C=%zd, L=%zd, blank=%lld", B, T, C, L, blank);
        return NULL;
    }
    /* no size in bytes overflows: x is 8 B T C, the scratch under 64 B (T + 3) (L + 1) */
    if (B > 0 && (T > PY_SSIZE_T_MAX / 16 / B / C || L + 1 > PY_SSIZE_T_MAX / 64 / B / (T + 3))) {
        PyErr_Format(PyExc_ValueError, "_ctc.loss_and_gradient: B=%zd, T=%zd, C=%zd, L=%zd are too large", B, T, C,
                     L);
        return NULL;
    }
    if (!get_array(ox, &vx, "x", "fd", B * T * C, 0, &kx)) goto done;
    got = 1;
    if (!get_array(om, &vm, "m", "fd", B * T, 0, &km)) goto done;
    got = 2;
    if (!get_array(os, &vs, "s", "fd", B * T, 0, &ks)) goto done;
    got = 3;
    if (!get_array(olabels, &vlabels, "labels", "q", B * L, 0, &kq)) goto done;
    got = 4;
    if (!get_array(ograd, &vgrad, "grad", "d", B * T * C, 1, &kq)) goto done;
    got = 5;
    if (!get_array(olog_p, &vlog_p, "log_p", "d", B, 1, &kq)) goto done;
    got = 6;
    if (km != kx || ks != kx) {
        PyErr_SetString(PyExc_ValueError, "_ctc.loss_and_gradient: x, m and s must have one dtype");
        goto done;
    }
    for (b = 0; b < B; b++) {
        const int64_t *lab = (const int64_t *)vlabels.buf + b * L;
        Py_ssize_t j;
        for (j = 0; j < L; j++) {
            if (lab[j] >= C || lab[j] == blank || lab[j] < -1 || (lab[j] >= 0 && j && lab[j - 1] < 0)) {
                PyErr_Format(PyExc_ValueError, "_ctc.loss_and_gradient: labels must be classes 0..%zd other than "
                             "the blank %lld, padded at the end with -1; got %lld", C - 1, blank,
                             (long long)lab[j]);
                goto done;
            }
        }
    }
    P.B = B; P.T = T; P.C = C; P.L = L; P.S = 2 * L + 1; P.blank = blank; P.is64 = kx == 'd';
    P.x = vx.buf; P.m = vm.buf; P.s = vs.buf;
    P.labels = vlabels.buf; P.grad = vgrad.buf; P.log_p = vlog_p.buf;
    P.alpha = malloc((2 * T * P.S + 3 * (P.S + 2) + T + 2) * B * sizeof(double) + 1);
    P.ext = malloc((P.S + 1) * B * sizeof(int64_t) + B + 1);
    if (!P.alpha || !P.ext) {
        PyErr_NoMemory();
    } else {
        P.last = P.ext + P.S * B;
        P.imprecise = (unsigned char *)(P.last + B);
        P.emit = P.alpha + T * P.S * B;
        P.beta = P.emit + T * P.S * B;
        P.q = P.beta + (P.S + 2) * B;
        P.skip = P.q + (P.S + 2) * B;
        P.scale = P.skip + (P.S + 2) * B;
        P.sums = P.scale + T * B;
        P.product = P.sums + B;
        Py_BEGIN_ALLOW_THREADS
        setup(&P);
        forward(&P);
        backward(&P);
        Py_END_ALLOW_THREADS
        ok = 1;
    }
    free(P.alpha);
    free(P.ext);
done:
    for (i = 0; i < got; i++) PyBuffer_Release(views[i]);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"loss_and_gradient", loss_and_gradient, METH_VARARGS,
     "loss_and_gradient(x, m, s, labels, blank, B, T, C, L, grad, log_p)\n\n"
     "CTC by the scaled forward-backward algorithm: writes log p(labels | x) into log_p (B,) and, for\n"
     "L = -log p, dL/dx into grad (B, T, C), which holds the softmax p on entry. x: the logits (B, T, C);\n"
     "m, s: the softmax's row maxima and sums of exp(x - m) (B T,), x's dtype (float32 or float64);\n"
     "labels (B, L) int64 padded at the end with -1; grad, log_p float64. C order."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ctc",
                                    "CTC's loss and gradient in C (see lossviz.train.heads._CTC).", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__ctc(void) { return PyModule_Create(&module); }
