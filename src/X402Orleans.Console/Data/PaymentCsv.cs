using System.Globalization;
using System.Text;

namespace X402Orleans.OperatorConsole.Data;

/// <summary>The payment log as CSV (RFC 4180: comma-separated, CRLF line ends, fields quoted when they hold a comma, quote or line break).</summary>
public static class PaymentCsv
{
    /// <summary>The header line's fields.</summary>
    public const string Header = "at,agent,session_id,outcome,amount,asset,network,transaction,reason";

    /// <summary>The CSV text of <paramref name="rows"/>: amount in atomic units, asset as its symbol.</summary>
    public static string Write(IEnumerable<PaymentRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var text = new StringBuilder(Header).Append("\r\n");
        foreach (var row in rows)
        {
            var a = row.Attempt;
            string[] fields =
            [
                a.At.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                row.AgentId,
                a.SessionId.ToString(),
                a.Outcome,
                a.AmountAtomic,
                a.Symbol,
                a.Network,
                a.Transaction ?? "",
                a.Reason ?? "",
            ];
            text.AppendJoin(',', fields.Select(Field)).Append("\r\n");
        }

        return text.ToString();
    }

    /// <summary>One field: quoted (quotes doubled) when needed; a leading =, +, -, @ or tab is prefixed with ' so spreadsheets show text, not a formula.</summary>
    public static string Field(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }
}
