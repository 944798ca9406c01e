import { createRouter, createWebHashHistory } from 'vue-router';
import WorkstationView from './views/WorkstationView.vue';
import ReaderView from './reader/ReaderView.vue';
import AnalysisView from './reader/AnalysisView.vue';
import DesignView from './reader/DesignView.vue';
import StudiesView from './reader/StudiesView.vue';
import EvaluationView from './evaluation/EvaluationView.vue';
import TrainingView from './training/TrainingView.vue';
import ClassificationView from './classification/ClassificationView.vue';
import BatchView from './batch/BatchView.vue';
import PacsView from './pacs/PacsView.vue';
import { isRemoteReader } from './lib/remote-reader';

// Hash history: works under Electron's app:// protocol and from the browser-mode server at '/'.
export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', name: 'home', component: WorkstationView },
    { path: '/study/:id(\\d+)', name: 'study', component: WorkstationView },
    // reader studies: the blinded reading view (issue 11)
    { path: '/read', name: 'read', component: ReaderView },
    // reader studies, the coordinator's list and design view (?from=ID: a new version of study ID)
    { path: '/studies', name: 'reader-studies', component: StudiesView },
    { path: '/studies/new', name: 'reader-design', component: DesignView },
    // a reader study's analysis, the coordinator's (unblinded) view
    { path: '/studies/:id(\\d+)/analysis', name: 'reader-analysis', component: AnalysisView },
    // benchmark runs side by side (issue 10)
    { path: '/evaluation', name: 'evaluation', component: EvaluationView },
    // anatomy-grounded prompt tuning: data, settings, runs (issue 13)
    { path: '/training', name: 'training', component: TrainingView },
    // the heatmap-weighted diffusion classifier: builder, runs, results (issue 14)
    { path: '/classification', name: 'classification', component: ClassificationView },
    // dataset-scale grounding on a GPU cluster: export a job, torchrun / Slurm, status, import (issue 16)
    { path: '/batch', name: 'batch', component: BatchView },
    // studies from the hospital's PACS: servers, search, retrieve as a job, the cache (issue 15)
    { path: '/pacs', name: 'pacs', component: PacsView },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
});

// a reader signed in with a code has the reading view only
router.beforeEach((to) => (isRemoteReader() && to.name !== 'read' ? { name: 'read' } : true));
