package io.condense.report;

import io.condense.recipe.Candidate;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.Color;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.function.ToDoubleFunction;

/** The report's plots, drawn with XChart and returned as base64 PNG for data: URIs. */
public final class Charts {
    private Charts() {}

    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    /** Indices of the candidates on the Pareto front of (x smaller better, metric larger better). */
    public static List<Integer> pareto(List<Candidate> cs, ToDoubleFunction<Candidate> x) {
        List<Integer> front = new ArrayList<>();
        for (int i = 0; i < cs.size(); i++) {
            Candidate a = cs.get(i);
            if (Double.isNaN(x.applyAsDouble(a)) || Double.isNaN(a.metric())) continue;
            boolean dominated = false;
            for (int j = 0; j < cs.size() && !dominated; j++) {
                Candidate b = cs.get(j);
                if (j == i || Double.isNaN(x.applyAsDouble(b)) || Double.isNaN(b.metric())) continue;
                double ax = x.applyAsDouble(a), bx = x.applyAsDouble(b);
                dominated = bx <= ax && b.metric() >= a.metric() && (bx < ax || b.metric() > a.metric());
            }
            if (!dominated) front.add(i);
        }
        return front;
    }

    /** Scatter of metric vs {@code x}: valid and invalid candidates, the Pareto front as a line, the floor, input and output. */
    public static String tradeoff(String title, String xTitle, String metric, List<Candidate> cs, ToDoubleFunction<Candidate> x,
                                  double floor, Candidate input, Candidate output) {
        XYChart c = new XYChartBuilder().width(640).height(400).title(title).xAxisTitle(xTitle).yAxisTitle(metric).build();
        c.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setLegendPosition(Styler.LegendPosition.InsideSW);
        c.getStyler().setMarkerSize(9);
        List<Double> vx = new ArrayList<>(), vy = new ArrayList<>(), ix = new ArrayList<>(), iy = new ArrayList<>();
        double minX = Double.MAX_VALUE, maxX = -Double.MAX_VALUE;
        for (Candidate k : cs) {
            double xv = x.applyAsDouble(k);
            if (Double.isNaN(xv) || Double.isNaN(k.metric())) continue;
            minX = Math.min(minX, xv);
            maxX = Math.max(maxX, xv);
            (k.valid() ? vx : ix).add(xv);
            (k.valid() ? vy : iy).add(k.metric());
        }
        if (vx.isEmpty() && ix.isEmpty()) {
            vx.add(0.0);
            vy.add(0.0);
        }
        if (!vx.isEmpty()) c.addSeries("meets floor", vx, vy).setMarker(SeriesMarkers.CIRCLE).setMarkerColor(new Color(0x2c7fb8));
        if (!ix.isEmpty()) c.addSeries("below floor", ix, iy).setMarker(SeriesMarkers.CIRCLE).setMarkerColor(new Color(0xbdbdbd));
        List<Integer> front = new ArrayList<>(pareto(cs, x));
        front.sort(Comparator.comparingDouble(i -> x.applyAsDouble(cs.get(i))));
        if (front.size() >= 1) {
            List<Double> fx = new ArrayList<>(), fy = new ArrayList<>();
            for (int i : front) {
                fx.add(x.applyAsDouble(cs.get(i)));
                fy.add(cs.get(i).metric());
            }
            XYSeries s = c.addSeries("Pareto front", fx, fy);
            s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            s.setMarker(SeriesMarkers.DIAMOND);
            s.setLineColor(new Color(0xd95f0e));
            s.setMarkerColor(new Color(0xd95f0e));
        }
        if (minX <= maxX && Double.isFinite(floor)) {
            double pad = (maxX - minX) * 0.05 + 1e-9;
            XYSeries f = c.addSeries("floor", new double[] {minX - pad, maxX + pad}, new double[] {floor, floor});
            f.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            f.setMarker(SeriesMarkers.NONE);
            f.setLineColor(new Color(0xe31a1c));
        }
        marker(c, "input", input, x, SeriesMarkers.SQUARE, new Color(0x000000));
        if (output != null && output != input) marker(c, "output", output, x, SeriesMarkers.TRIANGLE_UP, new Color(0x31a354));
        return png(c);
    }

    private static void marker(XYChart c, String name, Candidate k, ToDoubleFunction<Candidate> x, org.knowm.xchart.style.markers.Marker m, Color col) {
        double xv = x.applyAsDouble(k);
        if (Double.isNaN(xv) || Double.isNaN(k.metric())) return;
        XYSeries s = c.addSeries(name, new double[] {xv}, new double[] {k.metric()});
        s.setMarker(m);
        s.setMarkerColor(col);
    }

    /** Bar chart of per-layer values (e.g. the metric drop when the layer alone is quantized). */
    public static String bars(String title, String yTitle, List<String> names, List<Double> values) {
        CategoryChart c = new CategoryChartBuilder().width(800).height(420).title(title).yAxisTitle(yTitle).build();
        c.getStyler().setLegendVisible(false);
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setXAxisLabelRotation(60);
        c.getStyler().setSeriesColors(new Color[] {new Color(0x2c7fb8)});
        List<String> n = new ArrayList<>();
        for (String s : names) n.add(s.length() > 28 ? "..." + s.substring(s.length() - 25) : s);
        c.addSeries(yTitle, n.isEmpty() ? List.of("-") : n, values.isEmpty() ? List.of(0.0) : values);
        return png(c);
    }

    static String png(org.knowm.xchart.internal.chartpart.Chart<?, ?> c) {
        try {
            return Base64.getEncoder().encodeToString(BitmapEncoder.getBitmapBytes(c, BitmapEncoder.BitmapFormat.PNG));
        } catch (IOException e) {
            throw new IllegalStateException("cannot draw chart: " + e.getMessage(), e);
        }
    }
}
