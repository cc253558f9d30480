using System.Globalization;
using System.Text;
using X402Orleans.Abstractions;

namespace X402Orleans.OperatorConsole.Data;

/// <summary>
/// The overview's chart geometry and number formats. The page draws the chart once; console.js redraws its lines and peak labels
/// in place, reading the plot area and the span from the drawn SVG, so both draw the same way.
/// </summary>
public static class Chart
{
    /// <summary>The chart's width in SVG units (the SVG scales to the page's width).</summary>
    public const int Width = 960;

    /// <summary>The chart's height in SVG units.</summary>
    public const int Height = 220;

    /// <summary>The plot area's left edge (the calls/s scale is left of it).</summary>
    public const int Left = 72;

    /// <summary>The plot area's right edge (the p50 scale is right of it).</summary>
    public const int Right = Width - 72;

    /// <summary>The plot area's top edge: a line's peak.</summary>
    public const int Top = 14;

    /// <summary>The plot area's bottom edge: zero (the time labels are below it).</summary>
    public const int Bottom = Height - 30;

    /// <summary>The time the chart spans, ending now.</summary>
    public static readonly TimeSpan Span = TimeSpan.FromMinutes(15);

    /// <summary>The span in milliseconds (for the script).</summary>
    public static long SpanMs => (long)Span.TotalMilliseconds;

    /// <summary>A bucket's length in seconds (for the script).</summary>
    public static int BucketSeconds => (int)CallLatency.BucketWidth.TotalSeconds;

    /// <summary>A point's calls per second.</summary>
    public static double CallsPerSecond(SeriesPoint point)
    {
        ArgumentNullException.ThrowIfNull(point);
        return point.Calls / (double)BucketSeconds;
    }

    /// <summary>A point's p50 in milliseconds (0 when the bucket had no calls).</summary>
    public static double P50(SeriesPoint point)
    {
        ArgumentNullException.ThrowIfNull(point);
        return point.P50Ms ?? 0;
    }

    /// <summary>The largest value among the points inside the window (0 when there are none): the plot's top.</summary>
    public static double Peak(IReadOnlyList<SeriesPoint> series, DateTimeOffset now, Func<SeriesPoint, double> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return InWindow(series, now).Select(value).DefaultIfEmpty(0).Max();
    }

    /// <summary>A polyline's points: x by the bucket's start over the last 15 minutes, y from zero (bottom) to the peak (top).</summary>
    public static string Points(IReadOnlyList<SeriesPoint> series, DateTimeOffset now, Func<SeriesPoint, double> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var peak = Peak(series, now, value);
        var scale = peak > 0 ? peak : 1;
        var from = now - Span;
        var text = new StringBuilder();
        foreach (var point in InWindow(series, now))
        {
            var x = Left + ((point.Start - from) / Span * (Right - Left));
            var y = Bottom - (value(point) / scale * (Bottom - Top));
            text.Append(CultureInfo.InvariantCulture, $"{x:0.#},{y:0.#} ");
        }

        return text.ToString().TrimEnd();
    }

    /// <summary>Calls per second as shown (two decimals).</summary>
    public static string Rate(double perSecond) => perSecond.ToString("0.00", CultureInfo.InvariantCulture);

    /// <summary>A scale's number: at most two decimals (console.js: <c>Math.round(v * 100) / 100</c>).</summary>
    public static string Number(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>A latency in milliseconds as shown ("–" when there were no calls).</summary>
    public static string Ms(double? ms) => ms is { } m ? Number(m) : "–";

    private static IEnumerable<SeriesPoint> InWindow(IReadOnlyList<SeriesPoint> series, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(series);
        var from = now - Span;
        return series.Where(p => p.Start >= from && p.Start <= now).OrderBy(p => p.Start);
    }
}
