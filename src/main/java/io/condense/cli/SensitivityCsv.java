package io.condense.cli;

import io.condense.ir.Graph;
import io.condense.ir.ModelException;
import io.condense.prune.PrunableLayer;
import io.condense.prune.SensitivityAnalysis;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reads the sensitivity.csv {@link SensitivityAnalysis#csv} writes back, matched to the layers of a model. */
final class SensitivityCsv {
    private SensitivityCsv() {}

    static SensitivityAnalysis.Result read(Path csv, Graph g) {
        List<String> lines;
        try {
            lines = Files.readAllLines(csv);
        } catch (IOException e) {
            throw new ModelException("cannot read " + csv + ": " + e.getMessage());
        }
        if (lines.isEmpty() || !lines.get(0).startsWith("layer,weight,op,params,macs,sparsity,accuracy")) {
            throw new ModelException(csv + " is not a sensitivity.csv written by condense sensitivity");
        }
        Map<String, PrunableLayer> layers = new LinkedHashMap<>();
        for (PrunableLayer l : PrunableLayer.find(g)) layers.put(l.weight(), l);
        Map<String, List<double[]>> pts = new LinkedHashMap<>();
        double baseline = Double.NaN;
        for (int i = 1; i < lines.size(); i++) {
            String[] f = lines.get(i).split(",");
            if (f.length != 7) throw new ModelException(csv + " line " + (i + 1) + ": expected 7 fields");
            if (!layers.containsKey(f[1])) throw new ModelException(csv + ": weight '" + f[1] + "' is not a prunable layer of the model");
            double s, a;
            try {
                s = Double.parseDouble(f[5]);
                a = Double.parseDouble(f[6]);
            } catch (NumberFormatException e) {
                throw new ModelException(csv + " line " + (i + 1) + ": bad number");
            }
            if (s == 0) baseline = a;
            else pts.computeIfAbsent(f[1], k -> new ArrayList<>()).add(new double[] {s, a});
        }
        if (pts.isEmpty() || Double.isNaN(baseline)) throw new ModelException(csv + " has no sensitivity curves");
        List<SensitivityAnalysis.Curve> curves = new ArrayList<>();
        for (Map.Entry<String, List<double[]>> e : pts.entrySet()) {
            double[] lv = new double[e.getValue().size()], acc = new double[lv.length];
            for (int i = 0; i < lv.length; i++) {
                lv[i] = e.getValue().get(i)[0];
                acc[i] = e.getValue().get(i)[1];
            }
            curves.add(new SensitivityAnalysis.Curve(layers.get(e.getKey()), lv, acc));
        }
        return new SensitivityAnalysis.Result("csv", baseline, curves);
    }
}
