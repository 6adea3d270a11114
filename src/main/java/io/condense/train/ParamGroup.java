package io.condense.train;

import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Settings for the parameters whose names match: frozen (never updated), own learning rate and weight decay
 * (null = the optimizer's). The first matching group wins.
 */
public record ParamGroup(Predicate<String> matches, boolean frozen, Double lr, Double weightDecay) {
    public static ParamGroup named(String regex) {
        Pattern p = Pattern.compile(regex);
        return new ParamGroup(n -> p.matcher(n).matches(), false, null, null);
    }

    public ParamGroup freeze() { return new ParamGroup(matches, true, lr, weightDecay); }

    public ParamGroup lr(double v) { return new ParamGroup(matches, frozen, v, weightDecay); }

    public ParamGroup weightDecay(double v) { return new ParamGroup(matches, frozen, lr, v); }
}
