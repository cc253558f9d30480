using System.Globalization;
using System.Text;

namespace X402Orleans.OperatorConsole.Data;

/// <summary>The overview's chart geometry and number formats (console.js draws the same way when it redraws).</summary>
public static class Chart
{
    /// <summary>The chart's width in SVG units.</summary>
    public const int Width = 720;

    /// <summary>The chart's height in SVG units.</summary>
    public const int Height = 180;

    /// <summary>The time the chart spans, ending now.</summary>
    public static readonly TimeSpan Span = TimeSpan.FromMinutes(15);

    /// <summary>A polyline's points: x by the bucket's start over the last 15 minutes, y scaled to the series' own maximum.</summary>
    public static string Points(IReadOnlyList<SeriesPoint> series, DateTimeOffset now, Func<SeriesPoint, double> value)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(value);
        var max = series.Count == 0 ? 0 : series.Max(value);
        var scale = max > 0 ? max : 1;
        var from = now - Span;
        var text = new StringBuilder();
        foreach (var point in series.Where(p => p.Start >= from).OrderBy(p => p.Start))
        {
            var x = (point.Start - from) / Span * Width;
            var y = Height - (value(point) / scale * (Height - 10)) - 5;
            text.Append(CultureInfo.InvariantCulture, $"{x:0.#},{y:0.#} ");
        }

        return text.ToString().TrimEnd();
    }

    /// <summary>Calls per second as shown (two decimals).</summary>
    public static string Rate(double perSecond) => perSecond.ToString("0.00", CultureInfo.InvariantCulture);

    /// <summary>A latency in milliseconds as shown ("–" when there were no calls).</summary>
    public static string Ms(double? ms) => ms?.ToString("0.##", CultureInfo.InvariantCulture) ?? "–";
}
