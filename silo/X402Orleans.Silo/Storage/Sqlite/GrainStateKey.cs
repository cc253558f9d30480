using System.Globalization;
using System.Text;
using Orleans.Storage;

namespace X402Orleans.Silo.Storage.Sqlite;

/// <summary>
/// The identity columns of one <c>x402_grain_state</c> row, derived exactly as Orleans 10.4.2's <c>AdoNetGrainStorage</c>
/// derives them (with its default <see cref="OrleansDefaultHasher"/>), so rows written by either provider are found by the other:
/// <list type="bullet">
/// <item>Guid key: N0/N1 are the two little-endian halves of <see cref="Guid.ToByteArray()"/>, the extension is the key extension.</item>
/// <item>Integer key: N0 = 0, N1 = the key, the extension is the key extension.</item>
/// <item>Any other key (string): N0 = N1 = 0, the extension holds the whole key text.</item>
/// <item>GrainIdHash: the hash of the key bytes (guid bytes or the 8 little-endian integer bytes, then the UTF-8 extension;
/// or the UTF-8 key text) taken in reverse order. GrainTypeHash: the hash of the UTF-8 type string.</item>
/// <item>GrainTypeString: the state name, with generic type arguments reduced to their names (no assembly versions).</item>
/// </list>
/// </summary>
internal readonly record struct GrainStateKey(string ServiceId, int GrainTypeHash, string GrainTypeString, int GrainIdHash, long N0, long N1, string? Extension)
{
    private static readonly OrleansDefaultHasher Hasher = new();

    /// <summary>The row identity of <paramref name="grainId"/>'s state <paramref name="stateName"/> in <paramref name="serviceId"/>.</summary>
    public static GrainStateKey From(string serviceId, string stateName, GrainId grainId)
    {
        var grainType = BaseTypeName(stateName);
        long n0 = 0, n1 = 0;
        string? extension;
        byte[] bytes;
        if (grainId.TryGetGuidKey(out var guid, out extension))
        {
            Span<byte> raw = stackalloc byte[16];
            guid.TryWriteBytes(raw);
            n0 = BitConverter.ToInt64(raw);
            n1 = BitConverter.ToInt64(raw[8..]);
            bytes = KeyBytes(raw, extension);
        }
        else if (grainId.TryGetIntegerKey(out var integer, out extension))
        {
            n1 = integer;
            Span<byte> raw = stackalloc byte[8];
            BitConverter.TryWriteBytes(raw, integer);
            bytes = KeyBytes(raw, extension);
        }
        else
        {
            extension = grainId.Key.ToString();
            bytes = KeyBytes([], extension);
        }

        return new GrainStateKey(serviceId, Hasher.Hash(Encoding.UTF8.GetBytes(grainType)), grainType, Hasher.Hash(bytes), n0, n1, extension);
    }

    /// <summary>The key for the error messages, as the ADO.NET provider prints it.</summary>
    public override string ToString() => $"{GrainTypeString}/{N0.ToString(CultureInfo.InvariantCulture)}/{N1.ToString(CultureInfo.InvariantCulture)}/{Extension}";

    private static byte[] KeyBytes(ReadOnlySpan<byte> prefix, string? extension)
    {
        var bytes = new byte[prefix.Length + (extension is null ? 0 : Encoding.UTF8.GetByteCount(extension))];
        prefix.CopyTo(bytes);
        if (extension is not null)
        {
            Encoding.UTF8.GetBytes(extension, bytes.AsSpan(prefix.Length));
        }

        if (BitConverter.IsLittleEndian)
        {
            Array.Reverse(bytes);
        }

        return bytes;
    }

    /// <summary>
    /// A non-generic name unchanged; a generic CLR type name (<c>Ns.Type`1[[Arg, Asm, Version=…]]</c>) reduced to
    /// <c>Ns.Type`1[[Arg, Asm]]</c>: every segment between brackets keeps at most its first comma (type, assembly).
    /// </summary>
    internal static string BaseTypeName(string typeName)
    {
        if (!typeName.Contains('`', StringComparison.Ordinal))
        {
            return typeName;
        }

        var segments = new Queue<string>(typeName
            .Split(['[', ']'], StringSplitOptions.RemoveEmptyEntries)
            .Where(s => s.Length > 1 && s[0] != ',')
            .Select(TypeAndAssembly));
        return Reformat(segments);

        static string TypeAndAssembly(string segment)
        {
            var first = segment.IndexOf(',', StringComparison.Ordinal);
            if (first < 0)
            {
                return segment;
            }

            var second = segment.IndexOf(',', first + 1);
            return second >= 0 ? segment[..second] : segment[..first];
        }

        static string Reformat(Queue<string> segments)
        {
            var name = segments.Dequeue();
            var tick = name.IndexOf('`', StringComparison.Ordinal);
            var arity = tick < 0 ? 0 : int.Parse(name.AsSpan(tick + 1), CultureInfo.InvariantCulture);
            if (arity <= 0)
            {
                return name;
            }

            var args = new string[arity];
            for (var i = 0; i < arity; i++)
            {
                args[i] = "[" + Reformat(segments) + "]";
            }

            return $"{name}[{string.Join(',', args)}]";
        }
    }
}
