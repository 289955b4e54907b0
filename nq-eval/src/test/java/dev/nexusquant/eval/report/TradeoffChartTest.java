package dev.nexusquant.eval.report;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class TradeoffChartTest {

    @Test
    void paretoFrontKeepsOnlyUndominatedPoints() {
        var a = new TradeoffChart.Point("x", "a", 2, 0.1);
        var b = new TradeoffChart.Point("x", "b", 4, 0.5);
        var c = new TradeoffChart.Point("y", "c", 4, 0.3);   // dominates b
        var d = new TradeoffChart.Point("y", "d", 3, 0.8);   // dominated by c
        var e = new TradeoffChart.Point("z", "e", 16, 2.0);
        assertEquals(List.of(a, c, e), TradeoffChart.paretoFront(List.of(a, b, c, d, e)));
    }

    @Test
    void earlierPresetsAreLeftOutOfTodaysFrontOnly() {
        var today = new TradeoffChart.Point(TradeoffChart.PRESETS, "balanced", 16.999, 0.27);
        var earlier = new TradeoffChart.Point(TradeoffChart.EARLIER_PRESETS + "2026-12-03", "balanced", 17.001, 0.50);
        var base = new TradeoffChart.Point("KIVI", "4-bit", 4, -0.1);
        List<TradeoffChart.Point> all = List.of(base, today, earlier);
        assertEquals(List.of(base, today, earlier), TradeoffChart.paretoFront(all)); // by ratio alone it is on the front
        assertEquals(List.of(base, today), TradeoffChart.paretoFront(TradeoffChart.today(all)));
        assertEquals(List.of(base), TradeoffChart.today(List.of(base, earlier)));
    }

    @Test
    void writesAPngOfTheRequestedSize(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("t.png");
        TradeoffChart.write("t", "sub", List.of(new TradeoffChart.Point("x", "a", 2, 0.1),
                new TradeoffChart.Point("y", "b", 8, 1.5)), png, 640, 400);
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(640, img.getWidth());
        assertEquals(400, img.getHeight());
    }

    @Test
    void oneCatastrophicSettingIsDrawnOffScaleInsteadOfFlatteningTheRest() {
        var pts = List.of(new TradeoffChart.Point("x", "a", 2, 0.5), new TradeoffChart.Point("x", "b", 3, 15.5),
                new TradeoffChart.Point("y", "c", 4, 350));
        assertEquals(15.5, TradeoffChart.axisTop(pts), 1e-12);
        var close = List.of(new TradeoffChart.Point("x", "a", 2, 62.9), new TradeoffChart.Point("x", "b", 3, 76.7));
        assertEquals(76.7, TradeoffChart.axisTop(close), 1e-12);
    }
}
