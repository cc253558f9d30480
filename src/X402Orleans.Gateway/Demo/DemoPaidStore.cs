using System.Text.Json;
using System.Text.Json.Serialization;

namespace X402Orleans.Gateway.Demo;

/// <summary>
/// The demo paywall's memory of who paid which path, kept in a small JSON file (Local mode: beside the state database) so that
/// sign-in-with-x still grants access after a restart. Rewritten atomically (temporary file, then rename) on each new payment;
/// bounded to the <see cref="MaxEntries"/> most recent payments. A development tool: an unreadable file is started over.
/// </summary>
public sealed class DemoPaidStore
{
    /// <summary>The file's name in the state folder.</summary>
    public const string FileName = "demo-paywall-paid.json";

    /// <summary>How many (payer, path) pairs the file keeps; the oldest are dropped first.</summary>
    public const int MaxEntries = 10_000;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
    private readonly Lock _gate = new();
    private readonly List<PaidEntry> _entries;

    /// <summary>Opens (or starts) the file at <paramref name="path"/>.</summary>
    public DemoPaidStore(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = path;
        _entries = Read(path);
    }

    /// <summary>The JSON file.</summary>
    public string Path { get; }

    /// <summary>The remembered payments, oldest first.</summary>
    public IReadOnlyList<PaidEntry> Entries
    {
        get
        {
            lock (_gate)
            {
                return [.. _entries];
            }
        }
    }

    /// <summary>Remembers a new payment and rewrites the file.</summary>
    public void Add(string path, string payer)
    {
        lock (_gate)
        {
            _entries.Add(new PaidEntry(path, payer));
            if (_entries.Count > MaxEntries)
            {
                _entries.RemoveRange(0, _entries.Count - MaxEntries);
            }

            var temporary = $"{Path}.{Guid.NewGuid():N}.tmp";
            try
            {
                using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                {
                    JsonSerializer.Serialize(stream, new PaidFile(1, _entries), Json);
                    stream.Flush(flushToDisk: true);
                }

                File.Move(temporary, Path, overwrite: true);
            }
            finally
            {
                File.Delete(temporary);
            }
        }
    }

    private static List<PaidEntry> Read(string path)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        if (!File.Exists(path))
        {
            return [];
        }

        try
        {
            using var stream = File.OpenRead(path);
            var file = JsonSerializer.Deserialize<PaidFile>(stream, Json);
            return [.. (file?.Paid ?? []).Where(e => !string.IsNullOrEmpty(e.Path) && !string.IsNullOrEmpty(e.Payer)).TakeLast(MaxEntries)];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    /// <summary>One remembered payment.</summary>
    /// <param name="Path">The request path paid for.</param>
    /// <param name="Payer">The payer's address.</param>
    public sealed record PaidEntry([property: JsonPropertyName("path")] string Path, [property: JsonPropertyName("payer")] string Payer);

    private sealed record PaidFile([property: JsonPropertyName("version")] int Version, [property: JsonPropertyName("paid")] List<PaidEntry> Paid);
}
