package datasets

import "slices"

// Archive is one downloadable dataset archive.
type Archive struct {
	Name     string // "mvtec_ad" for the full archive, else the category
	URL      string
	SHA256   string // lower-case hex; "" when no published checksum is known
	Size     int64  // bytes; 0 when unknown
	Category string // MVTec AD category it holds; "" for the full archive
}

// mvtecShare is the MVTec AD share on the MVTec website's file host, as
// linked from https://www.mvtec.com/company/research/datasets/mvtec-ad
// (download page, 2021 links); the pill archive lives on another share.
const mvtecShare = "https://www.mydrive.ch/shares/38536/3830184030e49fe74747669442f0f282/download/"

// MVTecADArchives lists the official MVTec AD downloads: the full archive
// (all 15 categories, 4.9 GiB), then one archive per category, each
// extracting to CATEGORY/ as LoadMVTec expects. MVTec does not publish
// checksums; the full archive's SHA-256 and size are the values anomalib
// pins and independent downloads report. No checksum for the per-category
// archives could be found, so their SHA256 is empty: a fetcher should
// record the hash it sees. The data is CC BY-NC-SA 4.0.
var MVTecADArchives = []Archive{
	{Name: "mvtec_ad", URL: mvtecShare + "420938113-1629952094/mvtec_anomaly_detection.tar.xz",
		SHA256: "cf4313b13603bec67abb49ca959488f7eedce2a9f7795ec54446c649ac98cd3d", Size: 5264982680},
	{Name: "bottle", Category: "bottle", URL: mvtecShare + "420937370-1629951468/bottle.tar.xz"},
	{Name: "cable", Category: "cable", URL: mvtecShare + "420937413-1629951498/cable.tar.xz"},
	{Name: "capsule", Category: "capsule", URL: mvtecShare + "420937454-1629951595/capsule.tar.xz"},
	{Name: "carpet", Category: "carpet", URL: mvtecShare + "420937484-1629951672/carpet.tar.xz"},
	{Name: "grid", Category: "grid", URL: mvtecShare + "420937487-1629951814/grid.tar.xz"},
	{Name: "hazelnut", Category: "hazelnut", URL: mvtecShare + "420937545-1629951845/hazelnut.tar.xz"},
	{Name: "leather", Category: "leather", URL: mvtecShare + "420937607-1629951964/leather.tar.xz"},
	{Name: "metal_nut", Category: "metal_nut", URL: mvtecShare + "420937637-1629952063/metal_nut.tar.xz"},
	{Name: "pill", Category: "pill", URL: "https://www.mydrive.ch/shares/43421/11a215a5749fcfb75e331ddd5f8e43ee/download/420938129-1629953099/pill.tar.xz"},
	{Name: "screw", Category: "screw", URL: mvtecShare + "420938130-1629953152/screw.tar.xz"},
	{Name: "tile", Category: "tile", URL: mvtecShare + "420938133-1629953189/tile.tar.xz"},
	{Name: "toothbrush", Category: "toothbrush", URL: mvtecShare + "420938134-1629953256/toothbrush.tar.xz"},
	{Name: "transistor", Category: "transistor", URL: mvtecShare + "420938166-1629953277/transistor.tar.xz"},
	{Name: "wood", Category: "wood", URL: mvtecShare + "420938383-1629953354/wood.tar.xz"},
	{Name: "zipper", Category: "zipper", URL: mvtecShare + "420938385-1629953449/zipper.tar.xz"},
}

// MVTecTextures and MVTecObjects are the MVTec AD categories by kind, in
// the order of the PaDiM paper's tables; MVTecCategories are all 15,
// textures first, as the paper lists them.
var (
	MVTecTextures   = []string{"carpet", "grid", "leather", "tile", "wood"}
	MVTecObjects    = []string{"bottle", "cable", "capsule", "hazelnut", "metal_nut", "pill", "screw", "toothbrush", "transistor", "zipper"}
	MVTecCategories = append(slices.Clone(MVTecTextures), MVTecObjects...)
)

// IsMVTecTexture reports whether an MVTec AD category is a texture class
// (the paper averages textures and objects apart).
func IsMVTecTexture(category string) bool {
	return slices.Contains(MVTecTextures, category)
}

// MVTecArchive returns the archive for name ("mvtec_ad" for everything or
// a category), and false if there is none.
func MVTecArchive(name string) (Archive, bool) {
	for _, a := range MVTecADArchives {
		if a.Name == name {
			return a, true
		}
	}
	return Archive{}, false
}
