package dev.nexusquant.eval.report;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.annotations.XYTextAnnotation;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The trade-off picture: measured compression ratio against fp16 (log axis) against the perplexity change in %, one
 * mark per method and setting, marks coloured by method family, and the Pareto front (no other point is both smaller
 * in memory and better in quality) drawn as a line.
 */
public final class TradeoffChart {

    /** One measured setting. */
    public record Point(String family, String label, double ratio, double pplChangePercent) {
    }

    private TradeoffChart() {
    }

    /** Points on the Pareto front, by increasing ratio: none has a point of larger-or-equal ratio and lower change. */
    public static List<Point> paretoFront(List<Point> points) {
        List<Point> sorted = new ArrayList<>(points);
        sorted.sort(Comparator.comparingDouble(Point::ratio).reversed()
                .thenComparingDouble(Point::pplChangePercent));
        List<Point> front = new ArrayList<>();
        double best = Double.POSITIVE_INFINITY;
        for (Point p : sorted) {
            if (p.pplChangePercent() < best) {
                front.add(p);
                best = p.pplChangePercent();
            }
        }
        front.sort(Comparator.comparingDouble(Point::ratio));
        return front;
    }

    /** Writes the chart as a PNG of {@code width} x {@code height} pixels. */
    public static void write(String title, String subtitle, List<Point> points, Path png, int width, int height)
            throws IOException {
        System.setProperty("java.awt.headless", "true");
        Map<String, XYSeries> families = new LinkedHashMap<>();
        for (Point p : points) {
            families.computeIfAbsent(p.family(), f -> new XYSeries(f, false, true))
                    .add(p.ratio(), p.pplChangePercent());
        }
        XYSeriesCollection data = new XYSeriesCollection();
        XYSeries front = new XYSeries("Pareto front", false, true);
        for (Point p : paretoFront(points)) front.add(p.ratio(), p.pplChangePercent());
        data.addSeries(front);
        for (XYSeries s : families.values()) data.addSeries(s);

        LogAxis x = new LogAxis("compression ratio vs fp16 (measured bytes, log scale)");
        x.setBase(2);
        x.setSmallestValue(0.5);
        x.setNumberFormatOverride(new java.text.DecimalFormat("0.#x"));
        NumberAxis y = new NumberAxis("perplexity change (%)");
        y.setAutoRangeIncludesZero(true);
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(false, true);
        r.setSeriesLinesVisible(0, true);
        r.setSeriesShapesVisible(0, false);
        r.setSeriesPaint(0, new Color(120, 120, 120));
        r.setSeriesStroke(0, new BasicStroke(1.5f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 1f,
                new float[]{6f, 4f}, 0f));
        Color[] palette = {new Color(0xD62728), new Color(0x1F77B4), new Color(0x2CA02C), new Color(0xFF7F0E),
                new Color(0x9467BD), new Color(0x8C564B), new Color(0xE377C2), new Color(0x17BECF),
                new Color(0xBCBD22), new Color(0x7F7F7F)};
        for (int i = 1; i < data.getSeriesCount(); i++) r.setSeriesPaint(i, palette[(i - 1) % palette.length]);
        XYPlot plot = new XYPlot(data, x, y, r);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(220, 220, 220));
        plot.setRangeGridlinePaint(new Color(220, 220, 220));
        Font small = new Font(Font.SANS_SERIF, Font.PLAIN, 10);
        for (Point p : paretoFront(points)) {
            XYTextAnnotation a = new XYTextAnnotation(" " + p.label(), p.ratio(), p.pplChangePercent());
            a.setFont(small);
            a.setTextAnchor(TextAnchor.BOTTOM_LEFT);
            plot.addAnnotation(a);
        }
        JFreeChart chart = new JFreeChart(title, new Font(Font.SANS_SERIF, Font.BOLD, 16), plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        if (subtitle != null) chart.addSubtitle(new TextTitle(subtitle, new Font(Font.SANS_SERIF, Font.PLAIN, 11)));
        ChartUtils.saveChartAsPNG(png.toFile(), chart, width, height);
    }
}
