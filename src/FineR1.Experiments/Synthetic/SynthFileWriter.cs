using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using FineR1.Experiments.Synthetic.Text;

namespace FineR1.Experiments.Synthetic;

/// <summary>Writes a world's data files in the paper's formats (UTF-8 without BOM, '\n' line ends).</summary>
internal static class SynthFileWriter
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private static readonly JsonWriterOptions Indented = new()
    {
        Indented = true,
        IndentSize = 1,
        NewLine = "\n",
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // keep <image>, <think> literal like the released file
    };

    public static void WriteJsonl(string path, IEnumerable<string> lines)
    {
        var sb = new StringBuilder();
        foreach (var line in lines) sb.Append(line).Append('\n');
        File.WriteAllText(path, sb.ToString(), Utf8);
    }

    /// <summary>LLaMA-Factory ShareGPT (docs/method.md §4.2): <c>[{"messages": [system, user, assistant], "images": [rel]}]</c>.</summary>
    public static void WriteShareGpt(string path, IReadOnlyList<SftExample> examples, bool withReasoning)
    {
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream, Indented);
        w.WriteStartArray();
        foreach (var e in examples)
        {
            w.WriteStartObject();
            w.WriteStartArray("messages");
            Turn(w, "system", FineR1.Core.Text.Prompts.FineR1Prompts.SftSystemPrompt);
            Turn(w, "user", e.UserTurn);
            Turn(w, "assistant", withReasoning ? e.CotAnswer : e.DirectAnswer);
            w.WriteEndArray();
            w.WriteStartArray("images");
            w.WriteStringValue(e.Image.RelativePath);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.Flush();
        stream.WriteByte((byte)'\n');
    }

    private static void Turn(Utf8JsonWriter w, string role, string content)
    {
        w.WriteStartObject();
        w.WriteString("role", role);
        w.WriteString("content", content);
        w.WriteEndObject();
    }

    /// <summary>LLaMA-Factory <c>dataset_info.json</c> with the paper's registration (docs/method.md §4.2) for both files.</summary>
    public static void WriteDatasetInfo(string path, params (string Name, string FileName)[] datasets)
    {
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream, Indented with { IndentSize = 2 });
        w.WriteStartObject();
        foreach (var (name, file) in datasets)
        {
            w.WriteStartObject(name);
            w.WriteString("file_name", file);
            w.WriteString("formatting", "sharegpt");
            w.WriteStartObject("columns");
            w.WriteString("messages", "messages");
            w.WriteString("images", "images");
            w.WriteEndObject();
            w.WriteStartObject("tags");
            w.WriteString("role_tag", "role");
            w.WriteString("content_tag", "content");
            w.WriteString("user_tag", "user");
            w.WriteString("assistant_tag", "assistant");
            w.WriteString("system_tag", "system");
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.Flush();
        stream.WriteByte((byte)'\n');
    }

    /// <summary><c>world.json</c>: options, super-categories with attributes, species with values and split.</summary>
    public static void WriteWorld(string path, FgvrSynthWorld world)
    {
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream, Indented with { IndentSize = 2 });
        var o = world.Options;
        w.WriteStartObject();
        w.WriteString("generator", "FGVR-Synth");
        w.WriteNumber("format_version", 1);
        w.WriteStartObject("options");
        w.WriteNumber("seed", o.Seed);
        w.WriteNumber("species_per_super_category", o.SpeciesPerSuperCategory);
        w.WriteNumber("seen_fraction", o.SeenFraction);
        w.WriteNumber("image_size", o.ImageSize);
        w.WriteNumber("shots", o.Shots);
        w.WriteNumber("train_images_per_species", o.TrainImagesPerSpecies);
        w.WriteNumber("test_images_per_species", o.TestImagesPerSpecies);
        w.WriteNumber("pretrain_images_per_species", o.PretrainImagesPerSpecies);
        w.WriteNumber("variation", o.Variation);
        w.WriteEndObject();
        w.WriteStartArray("super_categories");
        foreach (var sc in world.SuperCategories)
        {
            w.WriteStartObject();
            w.WriteString("key", sc.Key);
            w.WriteString("noun", sc.Noun);
            w.WriteStartArray("attributes");
            foreach (var a in sc.Attributes)
            {
                w.WriteStartObject();
                w.WriteString("name", a.Name);
                w.WriteStartArray("values");
                foreach (var v in a.Values) w.WriteStringValue(v.Phrase);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("species");
        foreach (var s in world.Species)
        {
            w.WriteStartObject();
            w.WriteString("name", s.Name);
            w.WriteString("super_category", s.SuperCategory.Key);
            w.WriteString("split", s.IsSeen ? "seen" : "unseen");
            w.WriteStartObject("attributes");
            for (int a = 0; a < s.Values.Count; a++) w.WriteString(s.SuperCategory.Attributes[a].Name, s.Value(a).Word);
            w.WriteEndObject();
            w.WriteStartArray("one_attribute_neighbours");
            foreach (var n in s.NeighboursIn(world.Species)) w.WriteStringValue(n.Name);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
        stream.WriteByte((byte)'\n');
    }
}
