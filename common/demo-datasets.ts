// The names the bundled synthetic demo's studies go to (first start and the import dialog's "Import demo"): they say
// what the data is, and that it is not a real MIMIC-CXR or VinDr-CXR import a user may add later.
export const DEMO_MIMIC_DATASET = 'MIMIC-CXR (synthetic demo)';
export const DEMO_VINDR_DATASET = 'VinDr-CXR (synthetic demo)';
