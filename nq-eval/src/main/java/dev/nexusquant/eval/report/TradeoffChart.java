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
 * in memory and better in quality) drawn as a line. When the points hold NexusQuant's presets (family
 * {@value #PRESETS}) beside other methods, a second, dotted front leaves the presets out: the gap between the two lines
 * is what the presets add to everything else measured (the previous recipes and the baselines). Rows of earlier
 * presets kept for history (families starting with {@value #EARLIER_PRESETS}) belong to the dotted front only: the
 * solid front is today's methods, the dotted one what was there before today's presets.
 */
public final class TradeoffChart {

    /** The family of NexusQuant's presets. */
    public static final String PRESETS = "NexusQuant";

    /** How the families of earlier presets, kept beside today's for history, begin (e.g. "NexusQuant presets of 2026-12-03"). */
    public static final String EARLIER_PRESETS = "NexusQuant presets of ";

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

    /** The points of today's methods: all but the earlier presets' (families starting with {@value #EARLIER_PRESETS}). */
    static List<Point> today(List<Point> points) {
        return points.stream().filter(p -> !p.family().startsWith(EARLIER_PRESETS)).toList();
    }

    /**
     * The upper end of the perplexity axis: the largest change, except changes above twenty times the upper quartile
     * (and above 20%), which are drawn off the scale (at the top edge, with their value written beside them) so that
     * one catastrophic setting does not flatten every other mark.
     */
    static double axisTop(List<Point> points) {
        double[] c = points.stream().mapToDouble(Point::pplChangePercent).filter(Double::isFinite).sorted().toArray();
        if (c.length == 0) return 1;
        double limit = 20 * Math.max(c[(int) (0.75 * (c.length - 1))], 1.0);
        double top = 1;
        for (double v : c) if (v <= limit) top = Math.max(top, v);
        return top;
    }

    /** Writes the chart as a PNG of {@code width} x {@code height} pixels. */
    public static void write(String title, String subtitle, List<Point> points, Path png, int width, int height)
            throws IOException {
        System.setProperty("java.awt.headless", "true");
        double yTop = axisTop(points) * 1.08;
        double yBottom = Math.min(0, points.stream().mapToDouble(Point::pplChangePercent).filter(Double::isFinite)
                .min().orElse(0)) - 0.04 * yTop;
        double edge = yTop * 0.985; // where off-scale points are drawn
        java.util.function.ToDoubleFunction<Point> plotY = p -> p.pplChangePercent() <= yTop ? p.pplChangePercent() : edge;
        Map<String, XYSeries> families = new LinkedHashMap<>();
        List<Point> offScale = new ArrayList<>();
        for (Point p : points) {
            if (!(p.pplChangePercent() <= yTop)) offScale.add(p);
            families.computeIfAbsent(p.family(), f -> new XYSeries(f, false, true)).add(p.ratio(), plotY.applyAsDouble(p));
        }
        List<Point> frontPoints = paretoFront(today(points));
        XYSeriesCollection data = new XYSeriesCollection();
        XYSeries front = new XYSeries("Pareto front", false, true);
        for (Point p : frontPoints) front.add(p.ratio(), plotY.applyAsDouble(p));
        data.addSeries(front);
        List<Point> withoutPresets = points.stream().filter(p -> !p.family().equals(PRESETS)).toList();
        boolean twoFronts = !withoutPresets.isEmpty() && withoutPresets.size() < points.size();
        if (twoFronts) {
            XYSeries rest = new XYSeries(withoutPresets.size() > today(withoutPresets).size()
                    ? "Pareto front without today's presets (earlier presets in)" : "Pareto front without the presets", false, true);
            for (Point p : paretoFront(withoutPresets)) rest.add(p.ratio(), plotY.applyAsDouble(p));
            data.addSeries(rest);
        }
        int firstFamily = data.getSeriesCount();
        for (XYSeries s : families.values()) data.addSeries(s);

        LogAxis x = new LogAxis("compression ratio vs fp16 (measured bytes, log scale)");
        x.setBase(2);
        x.setSmallestValue(0.5);
        x.setNumberFormatOverride(new java.text.DecimalFormat("0.##x"));
        NumberAxis y = new NumberAxis("perplexity change (%)");
        y.setRange(yBottom, yTop);
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(false, true);
        r.setSeriesLinesVisible(0, true);
        r.setSeriesShapesVisible(0, false);
        r.setSeriesPaint(0, new Color(120, 120, 120));
        r.setSeriesStroke(0, new BasicStroke(1.5f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 1f,
                new float[]{6f, 4f}, 0f));
        if (twoFronts) {
            r.setSeriesLinesVisible(1, true);
            r.setSeriesShapesVisible(1, false);
            r.setSeriesPaint(1, new Color(170, 170, 170));
            r.setSeriesStroke(1, new BasicStroke(1.2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 1f,
                    new float[]{1.5f, 3f}, 0f));
        }
        // distinct colours for up to 14 families; shapes come from JFreeChart's own sequence
        Color[] palette = {new Color(0x1F77B4), new Color(0x2CA02C), new Color(0xFF7F0E), new Color(0x9467BD),
                new Color(0x8C564B), new Color(0xE377C2), new Color(0x17BECF), new Color(0xBCBD22),
                new Color(0x7F7F7F), new Color(0x393B79), new Color(0xAD494A), new Color(0x637939),
                new Color(0x843C39), new Color(0x5254A3)};
        int k = 0;
        for (int i = firstFamily; i < data.getSeriesCount(); i++) {
            String name = (String) data.getSeriesKey(i);
            // NexusQuant's own families in strong red and black, so they stand out from the baselines
            Color c = name.equals(PRESETS) ? new Color(0xD62728)
                    : name.startsWith("NexusQuant") ? Color.BLACK : palette[k++ % palette.length];
            r.setSeriesPaint(i, c);
        }
        XYPlot plot = new XYPlot(data, x, y, r);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(220, 220, 220));
        plot.setRangeGridlinePaint(new Color(220, 220, 220));
        Font small = new Font(Font.SANS_SERIF, Font.PLAIN, 10);
        // label the front, skipping a label that would sit on top of one already placed
        double lx0 = Math.log(points.stream().mapToDouble(Point::ratio).min().orElse(1));
        double lx1 = Math.log(points.stream().mapToDouble(Point::ratio).max().orElse(2));
        double xSpan = Math.max(lx1 - lx0, 1e-9), ySpan = yTop - yBottom;
        List<double[]> placed = new ArrayList<>();
        for (Point p : frontPoints) {
            double yv = plotY.applyAsDouble(p);
            double nx = (Math.log(p.ratio()) - lx0) / xSpan, ny = (yv - yBottom) / ySpan;
            boolean clash = placed.stream().anyMatch(q -> Math.abs(q[0] - nx) < 0.12 && Math.abs(q[1] - ny) < 0.035);
            if (clash) continue;
            placed.add(new double[]{nx, ny});
            String text = p.family().startsWith("NexusQuant") ? p.label() : p.family() + " " + p.label();
            XYTextAnnotation a = new XYTextAnnotation(" " + text, p.ratio(), yv);
            a.setFont(small);
            a.setTextAnchor(TextAnchor.BOTTOM_LEFT);
            plot.addAnnotation(a);
        }
        for (int i = 0; i < offScale.size(); i++) {
            Point p = offScale.get(i);
            XYTextAnnotation a = new XYTextAnnotation(String.format(java.util.Locale.ROOT, " \u2191 %+.0f%% (%s %s, off scale)",
                    p.pplChangePercent(), p.family(), p.label()), p.ratio(), edge - i * 0.035 * ySpan);
            a.setFont(small);
            a.setTextAnchor(TextAnchor.TOP_LEFT);
            plot.addAnnotation(a);
        }
        JFreeChart chart = new JFreeChart(title, new Font(Font.SANS_SERIF, Font.BOLD, 16), plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        if (subtitle != null) chart.addSubtitle(new TextTitle(subtitle, new Font(Font.SANS_SERIF, Font.PLAIN, 11)));
        ChartUtils.saveChartAsPNG(png.toFile(), chart, width, height);
    }
}
