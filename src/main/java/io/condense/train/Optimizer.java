package io.condense.train;

import io.condense.ir.ModelException;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * SGD (momentum, Nesterov, L2 weight decay), Adam (L2 weight decay) and AdamW (decoupled weight decay) over a
 * tape's parameters, updated in place. Supports parameter groups, an {@link LrSchedule}, and pruning masks: a
 * masked parameter's zeros stay exactly zero through every update.
 */
public final class Optimizer {
    public enum Kind { SGD, ADAM, ADAMW }

    private final Kind kind;
    private final double lr;
    private double momentum = 0;
    private boolean nesterov;
    private double weightDecay;
    private double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    private LrSchedule schedule = LrSchedule.constant();
    private final List<ParamGroup> groups = new ArrayList<>();
    private final Map<String, INDArray> masks = new HashMap<>();
    private final Map<String, INDArray> state1 = new HashMap<>(), state2 = new HashMap<>();
    private long step;

    private Optimizer(Kind kind, double lr) {
        if (!(lr > 0)) throw new ModelException("learning rate must be positive, got " + lr);
        this.kind = kind;
        this.lr = lr;
    }

    public static Optimizer sgd(double lr) { return new Optimizer(Kind.SGD, lr); }

    public static Optimizer adam(double lr) { return new Optimizer(Kind.ADAM, lr); }

    public static Optimizer adamW(double lr) { return new Optimizer(Kind.ADAMW, lr).weightDecay(0.01); }

    public static Optimizer of(String name, double lr) {
        return switch (name.toLowerCase()) {
            case "sgd" -> sgd(lr).momentum(0.9);
            case "sgd-plain" -> sgd(lr);
            case "nesterov" -> sgd(lr).momentum(0.9).nesterov(true);
            case "adam" -> adam(lr);
            case "adamw" -> adamW(lr);
            default -> throw new ModelException("unknown optimizer '" + name + "' (sgd, sgd-plain, nesterov, adam, adamw)");
        };
    }

    public Optimizer momentum(double m) { momentum = m; return this; }

    public Optimizer nesterov(boolean n) { nesterov = n; return this; }

    public Optimizer weightDecay(double wd) { weightDecay = wd; return this; }

    public Optimizer betas(double b1, double b2) { beta1 = b1; beta2 = b2; return this; }

    public Optimizer epsilon(double e) { eps = e; return this; }

    public Optimizer schedule(LrSchedule s) { schedule = s; return this; }

    public Optimizer group(ParamGroup g) { groups.add(g); return this; }

    /** Keeps {@code param} zero wherever {@code mask} is zero (mask is 0/1, same shape as the parameter). */
    public Optimizer mask(String param, INDArray mask) { masks.put(param, mask); return this; }

    public Map<String, INDArray> masks() { return masks; }

    public long steps() { return step; }

    /** The learning rate the next step will use for parameters outside any group. */
    public double currentLr() { return lr * schedule.factor(step); }

    private ParamGroup groupOf(String name) {
        for (ParamGroup g : groups) if (g.matches().test(name)) return g;
        return null;
    }

    /** Applies masks to the parameters (call once after setting masks so pruned weights start at zero). */
    public void applyMasks(Map<String, INDArray> params) {
        for (Map.Entry<String, INDArray> e : masks.entrySet()) {
            INDArray p = params.get(e.getKey());
            if (p == null) throw new ModelException("mask for unknown parameter '" + e.getKey() + "'");
            p.muli(e.getValue().reshape(p.shape()).castTo(p.dataType()));
        }
    }

    /** Dense, offset-free C-order arrays of one float type and length: the BLAS level-1 path applies. */
    private static boolean blasReady(INDArray w, INDArray g) {
        return dense(w) && dense(g) && w.length() == g.length() && w.dataType() == g.dataType()
                && (w.dataType() == org.nd4j.linalg.api.buffer.DataType.FLOAT || w.dataType() == org.nd4j.linalg.api.buffer.DataType.DOUBLE);
    }

    private static boolean dense(INDArray a) {
        return !a.isEmpty() && a.ordering() == 'c' && a.elementWiseStride() == 1 && a.offset() == 0 && a.data().length() == a.length();
    }

    /**
     * The SGD update as in-place BLAS axpy/scal calls on the parameter and its velocity: no temporaries, four or five
     * passes over the parameter instead of ten ND4J ops (same arithmetic as the general path up to float rounding:
     * w - lr (g + wd w) is computed as (1 - lr wd) w - lr g). {@code g} is only read.
     */
    private void sgdInPlace(String name, INDArray w, INDArray g, double plr, double wd) {
        org.nd4j.linalg.api.blas.Level1 l1 = org.nd4j.linalg.factory.Nd4j.getBlasWrapper().level1();
        long n = w.length();
        if (momentum == 0) {
            if (wd != 0) l1.scal(n, 1 - plr * wd, w);
            l1.axpy(n, -plr, g, w);
            return;
        }
        // v = momentum v + g + wd w (v = g + wd w on the first step)
        INDArray v = state1.get(name);
        if (v == null) {
            v = g.dup('c').reshape(w.shape());
            state1.put(name, v);
        } else {
            l1.scal(n, momentum, v);
            l1.axpy(n, 1, g, v);
        }
        if (wd != 0) l1.axpy(n, wd, w, v);
        if (nesterov) {
            // w -= lr (g + wd w + momentum v)
            if (wd != 0) l1.scal(n, 1 - plr * wd, w);
            l1.axpy(n, -plr, g, w);
            l1.axpy(n, -plr * momentum, v, w);
        } else {
            l1.axpy(n, -plr, v, w);
        }
    }

    /** One update of {@code params} (live arrays) from {@code grads}. */
    public void step(Map<String, INDArray> params, Map<String, INDArray> grads) {
        double f = schedule.factor(step);
        step++;
        for (Map.Entry<String, INDArray> e : new LinkedHashMap<>(params).entrySet()) {
            String name = e.getKey();
            INDArray w = e.getValue();
            INDArray g = grads.get(name);
            if (g == null) continue;
            ParamGroup grp = groupOf(name);
            if (grp != null && grp.frozen()) continue;
            double plr = (grp != null && grp.lr() != null ? grp.lr() : lr) * f;
            double wd = grp != null && grp.weightDecay() != null ? grp.weightDecay() : weightDecay;
            INDArray mask = masks.get(name);
            if (mask != null) {
                mask = mask.reshape(w.shape()).castTo(w.dataType());
                masks.put(name, mask);
            }
            if (kind == Kind.SGD && mask == null && blasReady(w, g)) {
                sgdInPlace(name, w, g, plr, wd);
                continue;
            }
            g = g.reshape(w.shape()).dup();
            if (mask != null) g.muli(mask);
            switch (kind) {
                case SGD -> {
                    if (wd != 0) g.addi(w.mul(wd));
                    if (momentum != 0) {
                        INDArray v = state1.get(name);
                        if (v == null) {
                            v = g.dup();
                            state1.put(name, v);
                        } else v.muli(momentum).addi(g);
                        g = nesterov ? g.addi(v.mul(momentum)) : v.dup();
                    }
                    w.subi(g.muli(plr));
                }
                case ADAM, ADAMW -> {
                    if (kind == Kind.ADAM && wd != 0) g.addi(w.mul(wd));
                    if (kind == Kind.ADAMW && wd != 0) w.muli(1 - plr * wd);
                    INDArray m = state1.computeIfAbsent(name, k -> org.nd4j.linalg.factory.Nd4j.zerosLike(w));
                    INDArray v = state2.computeIfAbsent(name, k -> org.nd4j.linalg.factory.Nd4j.zerosLike(w));
                    m.muli(beta1).addi(g.mul(1 - beta1));
                    v.muli(beta2).addi(g.mul(g).muli(1 - beta2));
                    double bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
                    INDArray denom = Transforms.sqrt(v.div(bc2), false).addi(eps);
                    w.subi(m.div(denom).muli(plr / bc1));
                }
            }
            if (mask != null) w.muli(mask);
        }
    }
}
