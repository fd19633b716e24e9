using System.Globalization;
using System.Text;

namespace FineR1.Experiments.Synthetic;

/// <summary>
/// JSON text exactly as Python's <c>json.dumps</c> writes it with default settings (separators <c>", "</c> and
/// <c>": "</c>, <c>ensure_ascii=True</c>), the form of the paper's released JSONL files.
/// </summary>
internal static class PyJson
{
    /// <summary>An object of string / string-list values, keys in the given order.</summary>
    public static string Object(params (string Key, object Value)[] fields)
    {
        var sb = new StringBuilder("{");
        for (int i = 0; i < fields.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            String(sb, fields[i].Key);
            sb.Append(": ");
            Value(sb, fields[i].Value);
        }
        return sb.Append('}').ToString();
    }

    private static void Value(StringBuilder sb, object value)
    {
        switch (value)
        {
            case string s: String(sb, s); break;
            case int n: sb.Append(n.ToString(CultureInfo.InvariantCulture)); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case IEnumerable<string> list:
                sb.Append('[');
                bool first = true;
                foreach (var item in list)
                {
                    if (!first) sb.Append(", ");
                    String(sb, item);
                    first = false;
                }
                sb.Append(']');
                break;
            default: throw new ArgumentException($"unsupported JSON value type {value.GetType()}.");
        }
    }

    public static void String(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7E) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
