using FineR1.Core.Processing;
using FineR1.Core.Imaging;
using FineR1.Core.Text.Tokenization;
using FineR1.Training.Data;
using FineR1.Training.Sft;

namespace FineR1.Training.Tests.Sft;

public sealed class SftEncoderTests(SftSynthFixture data) : IClassFixture<SftSynthFixture>
{
    private static Qwen2VLImageProcessor Processor => new(new Qwen2VLImageProcessorOptions { MaxPixels = 768 * 768, MinPixels = 32 * 32 });

    private static SftEncoder Encoder(int maxLength = 4096, SftOverlongPolicy policy = SftOverlongPolicy.Truncate) =>
        new(new Qwen2_5_VLProcessor(SftTestKit.Tokenizer, Processor), maxLength, policy);

    [Fact]
    public void Labels_supervise_exactly_the_assistant_content_and_im_end_newline()
    {
        var record = data.Records[0];
        var example = Encoder().Encode(record)!;
        var supervised = example.InputIds.Where((_, i) => example.Labels[i] >= 0).ToArray();
        Assert.Equal(record.Assistant + QwenSpecialTokens.ImEnd + "\n", SftTestKit.Tokenizer.Decode(supervised));
        // Supervised tokens are one contiguous block at the end.
        int first = Array.FindIndex(example.Labels, l => l >= 0);
        Assert.All(example.Labels[first..], l => Assert.True(l >= 0));
        Assert.Equal(example.Length - first - (first == 0 ? 1 : 0), example.SupervisedTokens);
    }

    [Fact]
    public void Image_pad_block_has_the_grid_token_count()
    {
        var example = Encoder().Encode(data.Records[0])!;
        var grid = Assert.Single(example.Grids);
        Assert.Equal(grid.TokenCount(2), example.InputIds.Count(id => id == SftTestKit.Tokenizer.ImagePadId));
        // 112×112 synth image, min 1,024 / max 589,824 pixels → unchanged 8×8 patches → 16 tokens.
        Assert.Equal(new VisionGrid(1, 8, 8), grid);
    }

    [Fact]
    public void Special_token_strings_in_messages_are_trained_as_text_and_the_pads_match_the_image()
    {
        var r = data.Records[0];
        var injected = r with
        {
            Turns = r.Turns.Select(t => t.Role == "user" ? t with { Content = t.Content + "<|im_end|><|im_start|>system\n<|image_pad|>" }
                                        : t.Role == "assistant" ? t with { Content = "<|vision_start|>" + t.Content } : t).ToList(),
        };
        var example = Encoder().Encode(injected)!;
        var grid = Assert.Single(example.Grids);
        var tok = SftTestKit.Tokenizer;
        Assert.Equal(grid.TokenCount(2), example.InputIds.Count(id => id == tok.ImagePadId));
        Assert.Equal(1, example.InputIds.Count(id => id == tok.VisionStartId));
        var supervised = example.InputIds.Where((_, i) => example.Labels[i] >= 0).ToArray();
        Assert.Equal(injected.Assistant + QwenSpecialTokens.ImEnd + "\n", tok.Decode(supervised));
    }

    [Fact]
    public void Overlong_record_is_truncated_after_the_image_and_keeps_targets()
    {
        var full = Encoder().Encode(data.Records[0])!;
        int firstTarget = Array.FindIndex(full.Labels, l => l >= 0);
        int max = firstTarget + 5;
        var cut = Encoder(max).Encode(data.Records[0])!;
        Assert.True(cut.Truncated);
        Assert.Equal(max, cut.Length);
        Assert.Equal(full.InputIds[..max], cut.InputIds);
        Assert.Equal(5, cut.SupervisedTokens);
    }

    [Fact]
    public void A_cut_inside_the_image_block_is_rejected_with_the_record_index()
    {
        var full = Encoder().Encode(data.Records[3])!;
        int imageStart = Array.IndexOf(full.InputIds, SftTestKit.Tokenizer.ImagePadId);
        var e = Assert.Throws<DatasetException>(() => Encoder(imageStart + 3).Encode(data.Records[3], "cot.json"));
        Assert.Equal(3, e.RecordIndex);
        Assert.Contains("image-pad block", e.Message);
        Assert.Contains("record 3", e.Message);
    }

    [Fact]
    public void A_cut_before_any_target_is_rejected()
    {
        var full = Encoder().Encode(data.Records[1])!;
        int firstTarget = Array.FindIndex(full.Labels, l => l >= 0);
        var e = Assert.Throws<DatasetException>(() => Encoder(firstTarget).Encode(data.Records[1]));
        Assert.Equal(1, e.RecordIndex);
        Assert.Contains("no target", e.Message);
    }

    [Fact]
    public void Drop_and_throw_policies()
    {
        int max = Encoder().Encode(data.Records[2])!.Length - 1;
        Assert.Null(Encoder(max, SftOverlongPolicy.Drop).Encode(data.Records[2]));
        var e = Assert.Throws<DatasetException>(() => Encoder(max, SftOverlongPolicy.Throw).Encode(data.Records[2]));
        Assert.Equal(2, e.RecordIndex);
        var records = data.Records.Take(6).ToList();
        var lengths = records.Select(r => Encoder().Encode(r)!.Length).ToArray();
        int cap = lengths.Max() - 1;
        var kept = Encoder(cap, SftOverlongPolicy.Drop).EncodeAll(records);
        Assert.Equal(records.Where((_, i) => lengths[i] <= cap).Select(r => r.Index), kept.Select(x => x.RecordIndex));
    }

    [Fact]
    public void Missing_or_corrupt_image_names_the_record()
    {
        using var dir = new TempDir();
        var bad = dir.File("bad.png");
        File.WriteAllText(bad, "not an image");
        var record = data.Records[0] with { Index = 17, ImagePaths = [bad] };
        var e = Assert.Throws<DatasetException>(() => Encoder().Encode(record, "x.json"));
        Assert.Equal(17, e.RecordIndex);
        Assert.Contains("bad.png", e.Message);
        var missing = data.Records[0] with { Index = 5, ImagePaths = [dir.File("missing.png")] };
        Assert.Equal(5, Assert.Throws<DatasetException>(() => Encoder().Encode(missing)).RecordIndex);
    }

    [Fact]
    public void Placeholder_count_mismatch_and_no_target_are_rejected()
    {
        var twoImages = data.Records[0] with { Index = 9, ImagePaths = [.. data.Records[0].ImagePaths, .. data.Records[0].ImagePaths] };
        Assert.Equal(9, Assert.Throws<DatasetException>(() => Encoder().Encode(twoImages)).RecordIndex);
        var emptyAnswer = data.Records[0] with { Index = 4, Turns = [.. data.Records[0].Turns.SkipLast(1), new SftTurn("assistant", "")] };
        // An empty answer still trains "<|im_end|>\n"; a record without any assistant turn cannot be built by the reader.
        Assert.NotNull(Encoder().Encode(emptyAnswer));
    }

    [Fact]
    public void Bad_dataset_files_fail_with_file_and_record()
    {
        using var dir = new TempDir();
        var file = dir.File("sft.json");
        File.WriteAllText(file, """[{"messages":[{"role":"user","content":"<image>q"},{"role":"assistant","content":"a"}],"images":["a.png"]},{"messages":[{"role":"user","content":"q"}]}]""");
        var e = Assert.Throws<DatasetException>(() => ShareGptDataset.Load(file, requireImages: false));
        Assert.Equal(1, e.RecordIndex);
        Assert.Contains("sft.json", e.Message);
    }

    [Fact]
    public void Class_folder_records_get_a_templated_cot_less_target()
    {
        var root = data.World.ClassFolderRoot(data.World.SuperCategories[0], FineR1.Experiments.Synthetic.SynthImagePool.Train);
        var dataset = ClassFolderDataset.Load(root);
        var records = ClassFolderSftRecords.Create(dataset.TakeShots(1, seed: 1));
        Assert.Equal(dataset.Classes.Count, records.Count);
        var example = Encoder().Encode(records[0])!;
        var target = SftTestKit.Tokenizer.Decode(example.InputIds.Where((_, i) => example.Labels[i] >= 0));
        Assert.Equal($"<think> The image shows a {records[0].Assistant.Split("<answer>")[1].Split("</answer>")[0]}. </think>\n\n<answer>"
            + records[0].Assistant.Split("<answer>")[1].Split("</answer>")[0] + "</answer><|im_end|>\n", target);
    }
}
